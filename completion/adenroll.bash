# bash completion for adenroll(8)                          -*- shell-script -*-
#
# Completes subcommands and options.  Template names are not completed: the
# only source is the directory, and a completion must never hit the network.

_adenroll()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        COMPREPLY=()
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local subcommands="pulse status explain templates enroll doctor check-policy forget"
    local options="--config --user --dry-run --json --force -v -q --version --help"

    case $prev in
        --config)
            # Files only; "compgen -f" is the fallback without bash-completion.
            if declare -F _filedir >/dev/null 2>&1; then
                _filedir
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return
            ;;
        --help|--version)
            return
            ;;
    esac

    # Was a subcommand already given?  (Skip the value of --config.)
    local i sub=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --config) ((i++)) ;;
            -*) ;;
            *) sub=${words[i]}; break ;;
        esac
    done

    # forget TEMPLATE: the templates the machine's PEM store manages (its
    # index, read locally; ADENROLL_COMPLETION_INDEX overrides the path).
    if [[ $sub == forget && $cur != -* ]]; then
        local index=${ADENROLL_COMPLETION_INDEX:-/var/lib/adenroll/certs/index} file line names=
        if [[ -r $index ]]; then
            while IFS=$'\t' read -r file line; do
                [[ -n $line && $file != \#* ]] && names+=" $line"
            done < "$index"
        fi
        COMPREPLY=($(compgen -W "$names $options" -- "$cur"))
        return
    fi

    if [[ $cur == -* || -n $sub ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$subcommands $options" -- "$cur"))
    fi
} &&
    complete -F _adenroll adenroll

# ex: filetype=sh
