# keyage init powershell: shows an aging AWS key in the prompt (no process started per prompt).
$global:KeyageDir = @STATE_DIR@
if (-not $env:KEYAGE_PROMPT_SCOPE) { $env:KEYAGE_PROMPT_SCOPE = @SCOPE@ }
$global:KeyageSegment = ''
function global:Update-KeyageSegment {
    $global:KeyageSegment = ''
    $m = Join-Path $global:KeyageDir '_meta'
    if (-not [System.IO.File]::Exists($m)) { return }
    if ($env:KEYAGE_PROMPT_SCOPE -eq 'all') { $name = '_all' } else {
        $p = if ($env:AWS_PROFILE) { $env:AWS_PROFILE } elseif ($env:AWS_DEFAULT_PROFILE) { $env:AWS_DEFAULT_PROFILE } else { 'default' }
        $sb = [System.Text.StringBuilder]::new()
        $i = 0
        foreach ($b in [System.Text.Encoding]::UTF8.GetBytes($p)) {
            $c = [char]$b
            if (($b -lt 128 -and [char]::IsLetterOrDigit($c)) -or $c -eq '-' -or ($i -gt 0 -and ($c -eq '_' -or $c -eq '.'))) { [void]$sb.Append($c) }
            else { [void]$sb.Append('%' + $b.ToString('X2')) }
            $i++
        }
        $name = $sb.ToString()
    }
    $f = Join-Path $global:KeyageDir $name
    if (-not [System.IO.File]::Exists($f)) { return }
    $mt = [System.IO.File]::GetLastWriteTimeUtc($m)
    $c = if ($env:AWS_SHARED_CREDENTIALS_FILE) { $env:AWS_SHARED_CREDENTIALS_FILE } else { Join-Path $HOME '.aws/credentials' }
    if ([System.IO.File]::Exists($c) -and [System.IO.File]::GetLastWriteTimeUtc($c) -gt $mt) { return }
    $c = if ($env:AWS_CONFIG_FILE) { $env:AWS_CONFIG_FILE } else { Join-Path $HOME '.aws/config' }
    if ([System.IO.File]::Exists($c) -and [System.IO.File]::GetLastWriteTimeUtc($c) -gt $mt) { return }
    $line = [System.IO.File]::ReadAllLines($f) | Select-Object -First 1
    if ($line) { $global:KeyageSegment = $line }
}
@PROMPT@
