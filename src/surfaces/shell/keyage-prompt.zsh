if [[ $PROMPT != *KEYAGE_SEGMENT* ]]; then
    setopt prompt_subst
    # shellcheck disable=SC2034,SC2016
    PROMPT='${KEYAGE_SEGMENT:+${KEYAGE_SEGMENT//\%/%%} }'"$PROMPT"
fi
