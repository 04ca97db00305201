# keyage init bash: shows an aging AWS key in the prompt with builtins only (no fork per prompt).
# The segment file is kept up to date by keyage status and the agent; it is ignored when the
# AWS files changed after it was written (newer than _meta).
__keyage_dir=@STATE_DIR@
: "${KEYAGE_PROMPT_SCOPE:=@SCOPE@}"
KEYAGE_SEGMENT=''
__keyage_update() {
    local f p c m i ch LC_ALL=C
    KEYAGE_SEGMENT=''
    m=$__keyage_dir/_meta
    [[ -f $m ]] || return 0
    if [[ $KEYAGE_PROMPT_SCOPE == all ]]; then
        f=_all
    else
        p=${AWS_PROFILE:-${AWS_DEFAULT_PROFILE:-default}}
        if [[ $p == [A-Za-z0-9-]* && $p != *[!A-Za-z0-9._-]* ]]; then
            f=$p
        else
            f=''
            for ((i = 0; i < ${#p}; i++)); do
                ch=${p:$i:1}
                if [[ $ch == [A-Za-z0-9-] || ($i -gt 0 && $ch == [._]) ]]; then
                    f+=$ch
                else
                    printf -v ch '%%%02X' "'$ch"
                    f+=$ch
                fi
            done
        fi
    fi
    f=$__keyage_dir/$f
    [[ -f $f ]] || return 0
    c=${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}
    [[ $c -nt $m ]] && return 0
    c=${AWS_CONFIG_FILE:-$HOME/.aws/config}
    [[ $c -nt $m ]] && return 0
    IFS= read -r KEYAGE_SEGMENT <"$f" || :
    return 0
}
if [[ ";${PROMPT_COMMAND[*]:-};" != *";__keyage_update;"* ]]; then
    PROMPT_COMMAND="__keyage_update${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
@PROMPT@
