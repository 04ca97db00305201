if not functions -q __keyage_orig_prompt
    functions -q fish_prompt; and functions -c fish_prompt __keyage_orig_prompt
    function fish_prompt
        __keyage_update
        test -n "$KEYAGE_SEGMENT"; and printf '%s ' $KEYAGE_SEGMENT
        functions -q __keyage_orig_prompt; and __keyage_orig_prompt
    end
end
