if (-not $global:KeyageOrigPrompt) {
    $global:KeyageOrigPrompt = $function:prompt
    function global:prompt {
        Update-KeyageSegment
        $s = if ($global:KeyageSegment) { "$global:KeyageSegment " } else { '' }
        $s + (& $global:KeyageOrigPrompt)
    }
}
