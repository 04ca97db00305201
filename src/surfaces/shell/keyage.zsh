# keyage init zsh: shows an aging AWS key in the prompt with builtins only (no fork per prompt).
# The segment file is kept up to date by keyage status and the agent; it is ignored when the
# credentials file changed after it was written.
# shellcheck disable=SC2034
typeset -g __keyage_dir=@STATE_DIR@
: "${KEYAGE_PROMPT_SCOPE:=@SCOPE@}"
typeset -g KEYAGE_SEGMENT=''
__keyage_update() {
    local f c
    KEYAGE_SEGMENT=''
    if [[ $KEYAGE_PROMPT_SCOPE == all ]]; then
        f=$__keyage_dir/_all
    else
        f=$__keyage_dir/${AWS_PROFILE:-${AWS_DEFAULT_PROFILE:-default}}
    fi
    [[ -f $f ]] || return 0
    c=${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}
    [[ $c -nt $f ]] && return 0
    IFS= read -r KEYAGE_SEGMENT <"$f" || :
    return 0
}
autoload -Uz add-zsh-hook
add-zsh-hook precmd __keyage_update
@PROMPT@
