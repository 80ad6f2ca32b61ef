# ===== lync-frontend.ps1: run on lyncfe1.kloud.example =====
# Lync Server databases for lab 'adfs-preauth' (kloud.example), written by edgelab.
# In the Lync Server Management Shell.
#Requires -RunAsAdministrator
# Safe to run again: every step checks what is there before it adds.
$ErrorActionPreference = 'Stop'

function Assert-FreeSpace([string] $Drive, [double] $NeededGB) {
    $free = (Get-PSDrive -Name $Drive -PSProvider FileSystem).Free
    if ($free -lt $NeededGB * 1073741824) {
        throw "Drive ${Drive}: has $([math]::Round($free / 1073741824, 1)) GB free, the databases need $NeededGB GB"
    }
}

# The databases: rtcxds (data 4 GB, log 4 GB).
Assert-FreeSpace -Drive 'F' -NeededGB 8

foreach ($folder in 'F:\CsLog','F:\CsData') {
    New-Item -ItemType Directory -Force -Path $folder | Out-Null
}
Install-CsDatabase -LocalDatabases -DatabasePaths 'F:\CsLog','F:\CsData'
