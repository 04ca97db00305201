# The body shared by bash and zsh (keyage.bash, keyage.zsh): reads the segment file for the
# current profile with builtins only. Profile names are escaped as surfaces::segment::file_name does.
# When an AWS file is newer than _meta (another tool wrote it), the segment is kept only while
# its key id is still in the AWS files (see surfaces::segment).
__keyage_update() {
    local f p c g m i ch k t LC_ALL=C
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
    i=$__keyage_dir/.ids/$f
    f=$__keyage_dir/$f
    [[ -f $f ]] || return 0
    IFS= read -r KEYAGE_SEGMENT <"$f" || :
    [[ -n $KEYAGE_SEGMENT ]] || return 0
    c=${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}
    g=${AWS_CONFIG_FILE:-$HOME/.aws/config}
    if [[ $c -nt $m || $g -nt $m ]]; then
        # Another tool wrote an AWS file after keyage wrote the segment: keep the segment only
        # while its key id (.ids/<name>) is still in one of the files.
        k='' t=''
        [[ -f $i ]] && { IFS= read -r k <"$i" || :; }
        if [[ $k != AKIA* && $k != ASIA* ]]; then
            KEYAGE_SEGMENT=''
            return 0
        fi
        [[ -f $c ]] && { IFS= read -r -d '' t <"$c" || :; }
        [[ $t == *"$k"* ]] && return 0
        t=''
        [[ -f $g ]] && { IFS= read -r -d '' t <"$g" || :; }
        [[ $t == *"$k"* ]] || KEYAGE_SEGMENT=''
    fi
    return 0
}
