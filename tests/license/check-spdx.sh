#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every C source and header of srvm starts with its SPDX license line, and every script
# carries one right after its shebang. Reads git's list of tracked files when the tree is a
# git checkout, else (a release tarball, a package build) every file under the source root but
# the build directory and debian/ (where the packaging stages what it builds).
#
#   check-spdx.sh SOURCE_ROOT [BUILD_ROOT]
set -euo pipefail

root=${1:?usage: check-spdx.sh SOURCE_ROOT [BUILD_ROOT]}
build=$(realpath -m "${2:-$root/build}")
cd "$root"

c_line='/* SPDX-License-Identifier: LGPL-2.1-or-later */'
sh_line='# SPDX-License-Identifier: LGPL-2.1-or-later'

if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
        [ "$(git rev-parse --show-toplevel)" = "$(pwd -P)" ]; then
        mapfile -t files < <(git ls-files)
else
        mapfile -t files < <(find "$(pwd -P)" \( -path "$build" -o -path "$(pwd -P)/debian" \) -prune \
                -o -type f -print | sed "s|^$(pwd -P)/||" | sort)
fi

bad=0
checked_c=0
checked_sh=0
for f in "${files[@]}"; do
        [ -f "$f" ] || continue   # deleted in the work tree, not yet in git's index
        case $f in
        *.c|*.h)
                checked_c=$((checked_c + 1))
                if [ "$(head -n1 -- "$f")" != "$c_line" ]; then
                        echo "check-spdx: $f: first line is not '$c_line'" >&2
                        bad=$((bad + 1))
                fi
                ;;
        *)
                [ "$(head -c2 -- "$f")" = '#!' ] || continue
                checked_sh=$((checked_sh + 1))
                if [ "$(sed -n 2p -- "$f")" != "$sh_line" ]; then
                        echo "check-spdx: $f: line 2 (after the shebang) is not '$sh_line'" >&2
                        bad=$((bad + 1))
                fi
                ;;
        esac
done

# A tree with no source at all means the list was wrong, not that all is well.
[ "$checked_c" -gt 0 ] || { echo "check-spdx: no .c or .h file found under $root" >&2; exit 1; }
echo "check-spdx: $checked_c C files, $checked_sh scripts checked, $bad without their SPDX line"
[ "$bad" -eq 0 ]
