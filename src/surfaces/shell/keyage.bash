# keyage init bash: shows an aging AWS key in the prompt with builtins only (no fork per prompt).
# The segment file is kept up to date by keyage status and the agent; when the AWS files
# changed after it was written (newer than _meta), it is kept only while its key id is still
# in them.
__keyage_dir=@STATE_DIR@
: "${KEYAGE_PROMPT_SCOPE:=@SCOPE@}"
KEYAGE_SEGMENT=''
@UPDATE_FN@
if [[ ";${PROMPT_COMMAND[*]:-};" != *";__keyage_update;"* ]]; then
    PROMPT_COMMAND="__keyage_update${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
@PROMPT@
