# keyage init powershell: shows an aging AWS key in the prompt (no process started per prompt).
$global:KeyageDir = @STATE_DIR@
if (-not $env:KEYAGE_PROMPT_SCOPE) { $env:KEYAGE_PROMPT_SCOPE = @SCOPE@ }
$global:KeyageSegment = ''
function global:Update-KeyageSegment {
    $global:KeyageSegment = ''
    $name = if ($env:KEYAGE_PROMPT_SCOPE -eq 'all') { '_all' }
            elseif ($env:AWS_PROFILE) { $env:AWS_PROFILE }
            elseif ($env:AWS_DEFAULT_PROFILE) { $env:AWS_DEFAULT_PROFILE }
            else { 'default' }
    $f = Join-Path $global:KeyageDir $name
    if (-not [System.IO.File]::Exists($f)) { return }
    $c = if ($env:AWS_SHARED_CREDENTIALS_FILE) { $env:AWS_SHARED_CREDENTIALS_FILE } else { Join-Path $HOME '.aws/credentials' }
    if ([System.IO.File]::Exists($c) -and ([System.IO.File]::GetLastWriteTimeUtc($c) -gt [System.IO.File]::GetLastWriteTimeUtc($f))) { return }
    $line = [System.IO.File]::ReadAllLines($f) | Select-Object -First 1
    if ($line) { $global:KeyageSegment = $line }
}
@PROMPT@
