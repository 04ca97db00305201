# keyage init zsh: shows an aging AWS key in the prompt with builtins only (no fork per prompt).
# The segment file is kept up to date by keyage status and the agent; when the AWS files
# changed after it was written (newer than _meta), it is kept only while its key id is still
# in them.
# shellcheck disable=SC2034
typeset -g __keyage_dir=@STATE_DIR@
: "${KEYAGE_PROMPT_SCOPE:=@SCOPE@}"
typeset -g KEYAGE_SEGMENT=''
@UPDATE_FN@
autoload -Uz add-zsh-hook
add-zsh-hook precmd __keyage_update
@PROMPT@
