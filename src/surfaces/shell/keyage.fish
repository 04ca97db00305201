# keyage init fish: shows an aging AWS key in the prompt with builtins only.
# The segment file is kept up to date by keyage status and the agent; it is ignored when the
# AWS files changed after it was written (newer than _meta).
set -g __keyage_dir @STATE_DIR@
set -q KEYAGE_PROMPT_SCOPE; or set -g KEYAGE_PROMPT_SCOPE @SCOPE@
set -g KEYAGE_SEGMENT ''
function __keyage_update --on-event fish_prompt
    set -g KEYAGE_SEGMENT ''
    set -l m $__keyage_dir/_meta
    test -f $m; or return 0
    set -l f _all
    if test "$KEYAGE_PROMPT_SCOPE" != all
        set -l p default
        set -q AWS_DEFAULT_PROFILE; and test -n "$AWS_DEFAULT_PROFILE"; and set p $AWS_DEFAULT_PROFILE
        set -q AWS_PROFILE; and test -n "$AWS_PROFILE"; and set p $AWS_PROFILE
        # Escaped as surfaces::segment::file_name does: each byte but [A-Za-z0-9-] (and '.' or
        # '_' after the first) as %XX. fish's url style (builtins, no fork) leaves / ~ . _ as is.
        if not string match -qr -- '^[A-Za-z0-9-][A-Za-z0-9._-]*$' $p
            set p (string escape --style=url -- $p | string replace -a -- / %2F \
                | string replace -a -- '~' %7E | string replace -r -- '^\.' %2E \
                | string replace -r -- '^_' %5F)
        end
        set f $p
    end
    set f $__keyage_dir/$f
    test -f $f; or return 0
    set -l c $HOME/.aws/credentials
    set -q AWS_SHARED_CREDENTIALS_FILE; and test -n "$AWS_SHARED_CREDENTIALS_FILE"; and set c $AWS_SHARED_CREDENTIALS_FILE
    test $c -nt $m; and return 0
    set c $HOME/.aws/config
    set -q AWS_CONFIG_FILE; and test -n "$AWS_CONFIG_FILE"; and set c $AWS_CONFIG_FILE
    test $c -nt $m; and return 0
    read -l line <$f; and set -g KEYAGE_SEGMENT $line
    return 0
end
@PROMPT@
