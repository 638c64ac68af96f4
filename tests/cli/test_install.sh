# test_install.sh - `make install` lays out the header, both libraries, the
# pkg-config file and the CLI, and the C example of the README compiles
# against the installed library with pkg-config and runs.
. "$(dirname "$0")/lib.sh"

build=$(dirname "$AMAML")
case $build in
*san*) echo "  [cli] SKIP install test in a sanitizer build"; cli_summary; exit ;;
esac
expect_status 0 "make install" -- make -s install BUILD="$build" PREFIX="$tmp/prefix"
for f in include/amaml.h lib/libamaml.a lib/libamaml.so lib/pkgconfig/amaml.pc bin/amaml; do
    [ -e "$tmp/prefix/$f" ] && ok || bad "make install did not install $f"
done
awk '/^## C API/ {api = 1} api && /^```c$/ {code = 1; next} code && /^```$/ {exit} code' \
    README.md >"$tmp/example.c"
[ -s "$tmp/example.c" ] && ok || bad "no C example in the README"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
expect_status 0 "the README example compiles" -- cc -std=c11 -Wall -Werror "$tmp/example.c" \
    $(pkg-config --cflags --libs amaml) -lm -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/example"
expect_status 0 "the README example runs" -- "$tmp/example"
expect_text "$tmp/out" "J = " "the README example prints its result"

cli_summary
