# ===== wap-server.ps1: run on the Web Application Proxy server =====
# Web Application Proxy publishing for lab 'seed-lab' (kloud.example), written by edgelab.
#Requires -RunAsAdministrator
# Safe to run again: every step checks what is there before it adds.
$ErrorActionPreference = 'Stop'

$certificate = 'F7F6B300FE4D569FD598E1C9722571CF9AD780DD'

# Lync Web Services: https://lyncws.kloud.example/ -> https://lyncws.kloud.example:4443/
if (Get-WebApplicationProxyApplication -Name 'Lync Web Services' -ErrorAction SilentlyContinue) {
    Write-Host 'Already published:' 'Lync Web Services'
} else {
    Add-WebApplicationProxyApplication -Name 'Lync Web Services' -ExternalPreauthentication 'PassThrough' -ExternalUrl 'https://lyncws.kloud.example/' -BackendServerUrl 'https://lyncws.kloud.example:4443/' -ExternalCertificateThumbprint $certificate
}

# Lync Lyncdiscover: https://lyncdiscover.kloud.example/ -> https://lyncdiscover.kloud.example:4443/
if (Get-WebApplicationProxyApplication -Name 'Lync Lyncdiscover' -ErrorAction SilentlyContinue) {
    Write-Host 'Already published:' 'Lync Lyncdiscover'
} else {
    Add-WebApplicationProxyApplication -Name 'Lync Lyncdiscover' -ExternalPreauthentication 'PassThrough' -ExternalUrl 'https://lyncdiscover.kloud.example/' -BackendServerUrl 'https://lyncdiscover.kloud.example:4443/' -ExternalCertificateThumbprint $certificate
}

# Lync Dialin: https://dialin.kloud.example/ -> https://dialin.kloud.example:4443/
if (Get-WebApplicationProxyApplication -Name 'Lync Dialin' -ErrorAction SilentlyContinue) {
    Write-Host 'Already published:' 'Lync Dialin'
} else {
    Add-WebApplicationProxyApplication -Name 'Lync Dialin' -ExternalPreauthentication 'PassThrough' -ExternalUrl 'https://dialin.kloud.example/' -BackendServerUrl 'https://dialin.kloud.example:4443/' -ExternalCertificateThumbprint $certificate
}

# Lync Meet: https://meet.kloud.example/ -> https://meet.kloud.example:4443/
if (Get-WebApplicationProxyApplication -Name 'Lync Meet' -ErrorAction SilentlyContinue) {
    Write-Host 'Already published:' 'Lync Meet'
} else {
    Add-WebApplicationProxyApplication -Name 'Lync Meet' -ExternalPreauthentication 'PassThrough' -ExternalUrl 'https://meet.kloud.example/' -BackendServerUrl 'https://meet.kloud.example:4443/' -ExternalCertificateThumbprint $certificate
}

# Office Web Apps Server: https://owas.kloud.example/ -> https://owas.kloud.example/
if (Get-WebApplicationProxyApplication -Name 'Office Web Apps Server' -ErrorAction SilentlyContinue) {
    Write-Host 'Already published:' 'Office Web Apps Server'
} else {
    Add-WebApplicationProxyApplication -Name 'Office Web Apps Server' -ExternalPreauthentication 'PassThrough' -ExternalUrl 'https://owas.kloud.example/' -BackendServerUrl 'https://owas.kloud.example/' -ExternalCertificateThumbprint $certificate
}

# Clients without SNI (Lync mobile, ActiveSync) need a default IP:port binding.
netsh http show sslcert ipport='0.0.0.0:443' | Out-Null
if ($LASTEXITCODE -eq 0) {
    Write-Host 'Already bound, left as it is:' '0.0.0.0:443'
} else {
    netsh http add sslcert ipport='0.0.0.0:443' certhash='f7f6b300fe4d569fd598e1c9722571cf9ad780dd' appid='{f955c070-e044-456c-ac00-e9e4275b3f04}' certstorename=MY
    if ($LASTEXITCODE -ne 0) { throw "netsh http add sslcert failed with exit code $LASTEXITCODE" }
}
