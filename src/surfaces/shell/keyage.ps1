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
    $ids = Join-Path (Join-Path $global:KeyageDir '.ids') $name
    if (-not [System.IO.File]::Exists($f)) { return }
    $lines = [System.IO.File]::ReadAllLines($f)
    if (-not $lines -or -not $lines[0]) { return }
    $mt = [System.IO.File]::GetLastWriteTimeUtc($m)
    $c = if ($env:AWS_SHARED_CREDENTIALS_FILE) { $env:AWS_SHARED_CREDENTIALS_FILE } else { Join-Path $HOME '.aws/credentials' }
    $g = if ($env:AWS_CONFIG_FILE) { $env:AWS_CONFIG_FILE } else { Join-Path $HOME '.aws/config' }
    $newer = $false
    foreach ($x in $c, $g) {
        if ([System.IO.File]::Exists($x) -and [System.IO.File]::GetLastWriteTimeUtc($x) -gt $mt) { $newer = $true }
    }
    if ($newer) {
        # Another tool wrote an AWS file: keep the segment only while its key id is still there.
        $k = if ([System.IO.File]::Exists($ids)) { [System.IO.File]::ReadAllLines($ids) | Select-Object -First 1 } else { '' }
        if ($k -notmatch '^A[KS]IA[A-Z0-9]+$') { return }
        $held = $false
        foreach ($x in $c, $g) {
            if ([System.IO.File]::Exists($x) -and [System.IO.File]::ReadAllText($x).Contains($k)) { $held = $true }
        }
        if (-not $held) { return }
    }
    $global:KeyageSegment = $lines[0]
}
@PROMPT@
