# keyage init fish: shows an aging AWS key in the prompt with builtins only.
# The segment file is kept up to date by keyage status and the agent; when the AWS files
# changed after it was written (newer than _meta), it is kept only while its key id is still
# in them.
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
    set -l i $__keyage_dir/.ids/$f
    set f $__keyage_dir/$f
    test -f $f; or return 0
    set -l line ''
    read -l line <$f
    test -n "$line"; or return 0
    set -l c $HOME/.aws/credentials
    set -q AWS_SHARED_CREDENTIALS_FILE; and test -n "$AWS_SHARED_CREDENTIALS_FILE"; and set c $AWS_SHARED_CREDENTIALS_FILE
    set -l g $HOME/.aws/config
    set -q AWS_CONFIG_FILE; and test -n "$AWS_CONFIG_FILE"; and set g $AWS_CONFIG_FILE
    if test $c -nt $m; or test $g -nt $m
        # Another tool wrote an AWS file after keyage wrote the segment: keep the segment only
        # while its key id (.ids/<name>) is still in one of the files.
        test -f $i; or return 0
        set -l k (string match -r -- '^A[KS]IA[A-Z0-9]+$' <$i)
        test -n "$k"; or return 0
        set -l held 0
        test -f $c; and string match -q -- "*$k[1]*" <$c; and set held 1
        test $held = 0; and test -f $g; and string match -q -- "*$k[1]*" <$g; and set held 1
        test $held = 1; or return 0
    end
    set -g KEYAGE_SEGMENT $line
    return 0
end
@PROMPT@
