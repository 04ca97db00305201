# The body shared by bash and zsh (keyage.bash, keyage.zsh): reads the segment file for the
# current profile with builtins only. Profile names are escaped as surfaces::segment::file_name does.
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
