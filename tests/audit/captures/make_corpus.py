# Writes the corpus fixtures of tests/audit/captures/README.md in the encodings
# and shapes Windows saves them (run from anywhere: python3 make_corpus.py).
# The older fixtures (no-default-binding..., default-binding-..., wap-seed.json,
# wap-broken-lync.json, wap-owas-different-host.json, the certificates) are
# hand-made and not written here.
import os, json
D=os.path.dirname(os.path.abspath(__file__)) + '/'
WAP='{f955c070-e044-456c-ac00-e9e4275b3f04}'
ADFS='{5d89a20c-beab-4389-9447-324788eb944a}'
H1='c0a130df59a376f3155636845cae1190f59bee65'  # proxy-all-names.pem
H2='5e1f3e6b8e4b2a3c9d0f1a2b3c4d5e6f70819243'
def fld(label, value):
    return '    ' + label + (' '*(29-len(label)) if len(label)<29 else ' ') + ': ' + value
TAIL=[('Verify Client Certificate Revocation','Enabled'),('Verify Revocation Using Cached Client Certificate Only','Disabled'),('Usage Check','Enabled'),('Revocation Freshness Time','0'),('URL Retrieval Timeout','0'),('Ctl Identifier','(null)'),('Ctl Store Name','(null)'),('DS Mapper Usage','Disabled'),('Negotiate Client Certificate','Disabled')]
def block(keylabel, key, h, appid, labels=('Certificate Hash','Application ID','Certificate Store Name'), tail=TAIL):
    lines=[fld(keylabel,key), fld(labels[0],h), fld(labels[1],appid), fld(labels[2],'MY')]
    lines += [fld(a,b) for a,b in tail]
    return lines
def capture(blocks, title='SSL Certificate bindings:'):
    lines=['', title, '-'*25, '']
    for b in blocks: lines += b + ['']
    return lines
def write(name, lines, enc='utf-8', nl='\r\n', bom=False):
    text=nl.join(lines)+nl
    data=text.encode(enc)
    if bom and enc=='utf-16-le': data=b'\xff\xfe'+data
    if bom and enc=='utf-8': data=b'\xef\xbb\xbf'+data
    open(D+name,'wb').write(data)
F='fabrikam.example'
def wapset(extra_ip=None):
    b=[]
    for n in ['lyncws','meet','dialin','lyncdiscover','owas']:
        b.append(block('Hostname:port', f'{n}.{F}:443', H1, WAP))
    return b
# empty shapes
open(D+'empty-zero-bytes.netsh.txt','wb').write(b'')
open(D+'empty-bom-only.netsh.txt','wb').write(b'\xff\xfe')
write('empty-separators.netsh.txt', ['', 'SSL Certificate bindings:', '-'*25, '', ''], 'utf-16-le', bom=True)
# [::]:443 alone
write('ipv6-only-default.netsh.txt', capture(wapset()+[block('IP:port','[::]:443',H1,WAP)]), 'utf-8')
# no web services binding: OWAS + Exchange only, 0.0.0.0:443 default
b=[block('IP:port','0.0.0.0:443',H2,WAP), block('Hostname:port',f'owas.{F}:443',H1,WAP), block('Hostname:port',f'mail.{F}:443',H2,WAP)]
write('no-web-services-binding.netsh.txt', capture(b), 'utf-8', nl='\n')
# AD FS on 443 and 49443 beside WAP on 443 with its default; pasted from an issue: prompt and '> ' quoting
b=[block('Hostname:port',f'sts.{F}:443',H2,ADFS), block('Hostname:port',f'sts.{F}:49443',H2,ADFS)]+wapset()+[block('IP:port','0.0.0.0:443',H1,WAP)]
lines=['C:\\Windows\\system32>netsh http show sslcert']+capture(b)+['C:\\Windows\\system32>']
write('adfs-49443-quoted.netsh.txt', ['>'] + ['> '+l if l else '>' for l in lines], 'utf-8', nl='\n')
# reflowed: NBSP before colons, 'Label: value' without the space, single spaces, a PowerShell prompt and echoed command
lines=['PS C:\\Users\\Administrator> netsh http show sslcert','','SSL Certificate bindings:','-------------------------','']
for n in ['lyncws','lyncdiscover']:
    lines += [f'Hostname:port\u00a0: {n}.{F}:443', f'Certificate Hash: {H1}', f'Application ID: {WAP}', 'Certificate Store Name : MY', '']
lines += [f'IP:port\u00a0\u00a0: 0.0.0.0:443', f'Certificate Hash\u00a0: {H1}', f'Application ID : {WAP}', '', 'PS C:\\Users\\Administrator>']
write('reflowed-nbsp-prompt.netsh.txt', lines, 'utf-8')
# languages. de: labels from the table (Zertifikathash: issue 23; others unverified); pt: 'Nome do host:porta' (issue 23)
def lang(name, title, keyip, keyhost, labels, tail, enc, bom=False, nl='\r\n'):
    b=[block(keyhost, f'{n}.{F}:443', H1, WAP, labels, tail) for n in ['lyncws','lyncdiscover']]
    b.append(block(keyip,'0.0.0.0:443',H1,WAP,labels,tail))
    write(name, capture(b, title), enc, bom=bom, nl=nl)
T2=[('Usage Check','Enabled')]
lang('lang-en.netsh.txt','SSL Certificate bindings:','IP:port','Hostname:port',('Certificate Hash','Application ID','Certificate Store Name'),TAIL,'utf-16-le',True)
# German as cmd.exe saves it (cp850): a stand-in label with umlauts carries the OEM bytes
lang('lang-de-cp850.netsh.txt','SSL-Zertifikatbindungen:','IP:Port','Hostname:Port',('Zertifikathash','Anwendungs-ID','Zertifikatspeichername'),[('Überprüfung (stand-in label)','Aktiviert')],'cp850')
lang('lang-pt-utf16.netsh.txt','Associações de certificado SSL:','IP:porta','Nome do host:porta',('Hash do certificado','ID do aplicativo','Nome do repositório'),[('Verificação de uso','Habilitado')],'utf-16-le',True)
lang('lang-fr-cp1252.netsh.txt','Liaisons de certificat SSL :','IP:port','Nom d\u2019hôte:port',('Hachage de certificat','ID d\u2019application','Nom du magasin'),[('Vérification de l\u2019utilisation','Activé')],'cp1252')
lang('lang-es-utf8.netsh.txt','Enlaces de certificado SSL:','IP:puerto','Nombre de host:puerto',('Hash de certificado','Id. de aplicación','Nombre del almacén'),[('Comprobación de uso','Habilitado')],'utf-8',True)
lang('lang-it-utf16.netsh.txt','Associazioni certificato SSL:','IP:porta','Nome host:porta',('Hash del certificato','ID applicazione','Nome archivio'),[('Controllo utilizzo','Abilitato')],'utf-16-le',True)
lang('lang-nl-lf.netsh.txt','SSL-certificaatbindingen:','IP:poort','Hostnaam:poort',('Certificaathash','Toepassings-id','Naam certificaatarchief'),[('Gebruikscontrole','Ingeschakeld')],'utf-8',nl='\n')
lang('lang-ja-utf16.netsh.txt','SSL 証明書バインド:','IP:ポート','ホスト名:ポート',('証明書ハッシュ','アプリケーション ID','証明書ストア名'),[('使用法のチェック','有効')],'utf-16-le',True)

# WAP
seed=json.load(open(D+'wap-seed.json',encoding='utf-8-sig'))
apps=[{k:v for k,v in a.items() if not k.startswith('Cim')} for a in seed]
w={'value':apps,'Count':len(apps)}
w['value'][2]['Name']='Réunions Lync (Meet)'
open(D+'wap-ps51-wrapper-cp1252.json','wb').write(json.dumps(w,indent=4,ensure_ascii=False).replace('\n','\r\n').encode('cp1252'))
# Format-List, UTF-16LE, with a wrapped value
fl=[]
for a in apps[:3]:
    for k in ['Name','ExternalUrl','BackendServerUrl','ExternalPreauthentication','ExternalCertificateThumbprint','BackendServerCertificateValidation','DisableTranslateUrlInRequestHeaders','DisableTranslateUrlInResponseHeaders','InactiveTransactionsTimeoutSec','ID']:
        v=a[k]
        if isinstance(v,bool): v='True' if v else 'False'
        fl.append(f'{k:<37} : {v}')
    fl.append('')
fl.insert(1,'ClientCertificateAuthenticationBindingMode : None')
fl=['PS C:\\> Get-WebApplicationProxyApplication | Format-List',''] + fl
# wrap the first BackendServerUrl over two lines as the console does at its width
i=[n for n,l in enumerate(fl) if l.startswith('BackendServerUrl')][0]
l=fl[i]; fl[i]=l[:55]; fl.insert(i+1, ' '*40 + l[55:])
write('wap-format-list.txt', fl, 'utf-16-le', bom=True)
write('wap-format-table.txt', ['','Name                 ExternalUrl                         BackendServerUrl','----                 -----------                         ----------------','Lync Web Services    https://lyncws.fabrikam.example/    https://lyncws.fabrikam.exa...',''], 'utf-8')
# numbers for enums, a GUID object, strings for booleans and numbers: never judged, never refusing
n=[dict(a) for a in apps]
n[0]['ExternalPreauthentication']='PassThrough'
n[0]['BackendServerCertificateValidation']=0
n[0]['InactiveTransactionsTimeoutSec']='300'
n[0]['DisableTranslateUrlInRequestHeaders']='False'
n[0]['ID']={'Guid':n[0]['ID']}
n[1]['ExternalPreauthentication']=1
n[1]['InactiveTransactionsTimeoutSec']='forever'
open(D+'wap-numeric-enums.json','w').write(json.dumps(n,indent=4))
open(D+'wap-empty.json','wb').write(b'')
open(D+'wap-empty-array.json','w').write('[]\n')
# IPv6 literal backend on 443, a wildcard external URL
v=[dict(apps[0]), dict(apps[4])]
v[0]['BackendServerUrl']='https://[fd00:10::5]/'
v[1]['Name']='Everything'; v[1]['ExternalUrl']='https://*.fabrikam.example/'; v[1]['BackendServerUrl']='https://*.fabrikam.example/'
open(D+'wap-ipv6-wildcard.json','w').write(json.dumps(v,indent=4))
