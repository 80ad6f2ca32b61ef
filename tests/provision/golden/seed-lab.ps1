# Web Application Proxy publishing for lab 'seed-lab' (kloud.example), written by edgelab.
# Run on the WAP server in an elevated PowerShell.

$certificate = "F7F6B300FE4D569FD598E1C9722571CF9AD780DD"

Add-WebApplicationProxyApplication -Name 'Lync Web Services' -ExternalPreAuthentication PassThrough -ExternalUrl "https://lyncws.kloud.example/" -BackendServerUrl "https://lyncws.kloud.example:4443/" -ExternalCertificateThumbprint $certificate
Add-WebApplicationProxyApplication -Name 'Lync Lyncdiscover' -ExternalPreAuthentication PassThrough -ExternalUrl "https://lyncdiscover.kloud.example/" -BackendServerUrl "https://lyncdiscover.kloud.example:4443/" -ExternalCertificateThumbprint $certificate
Add-WebApplicationProxyApplication -Name 'Lync Dialin' -ExternalPreAuthentication PassThrough -ExternalUrl "https://dialin.kloud.example/" -BackendServerUrl "https://dialin.kloud.example:4443/" -ExternalCertificateThumbprint $certificate
Add-WebApplicationProxyApplication -Name 'Lync Meet' -ExternalPreAuthentication PassThrough -ExternalUrl "https://meet.kloud.example/" -BackendServerUrl "https://meet.kloud.example:4443/" -ExternalCertificateThumbprint $certificate
Add-WebApplicationProxyApplication -Name 'Office Web Apps Server' -ExternalPreAuthentication PassThrough -ExternalUrl "https://owas.kloud.example/" -BackendServerUrl "https://owas.kloud.example/" -ExternalCertificateThumbprint $certificate

# Clients without SNI (Lync mobile, ActiveSync) need a default IP:port binding.
netsh http add sslcert ipport=0.0.0.0:443 certhash=f7f6b300fe4d569fd598e1c9722571cf9ad780dd appid={f955c070-e044-456c-ac00-e9e4275b3f04}
netsh http show sslcert ipport=0.0.0.0:443

# On the Lync server: the databases on a data disk with host caching None.
Install-CsDatabase -LocalDatabases -DatabasePaths F:\CsData
