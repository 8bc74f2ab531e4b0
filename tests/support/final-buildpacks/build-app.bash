# Shared by the fake final buildpacks: builds an app the way the common Elixir/Erlang
# buildpacks do, offline, with Debian's erlang/elixir/rebar3 and no hex packages.
#   mix.exs       MIX_ENV=prod mix compile, then mix release (the app can start either way);
#                 .profile.d exports MIX_ENV=prod for the start command
#   rebar.config  rebar3 as prod release
#   src/*.erl     erlc into ebin/
# Build outputs are kept in CACHE_DIR and restored first, so restaging is quick.
# The Elixir on PATH builds the app, unless FAKE_BEAM_ELIXIR_HOME (an app env var at staging,
# as `cf set-env`) names another Elixir's build (DIR/bin/elixir, DIR/lib/*/ebin): that one is
# installed into the droplet, .platform_tools/elixir as the Elixir buildpacks do, builds the app
# and is first on PATH at launch and in `cf ssh` (make test-compat).
# Usage: build_app BUILD_DIR CACHE_DIR; release_web_command BUILD_DIR

build_app() {
    local build_dir=$1 cache_dir=$2
    mkdir -p "$cache_dir"
    if [ -f "$build_dir/mix.exs" ]; then
        echo "-----> Building the Mix project (MIX_ENV=prod)"
        export MIX_ENV=prod MIX_HOME="$cache_dir/mix-home" HEX_OFFLINE=1
        install_elixir "$build_dir" || return 1
        restore_cached "$cache_dir" "$build_dir" _build
        (cd "$build_dir" && mix compile && mix release --overwrite --quiet) 2>&1 | sed 's/^/       /'
        save_cached "$cache_dir" "$build_dir" _build
        # As the Elixir buildpacks do: the app runs with the env it was compiled for.
        mkdir -p "$build_dir/.profile.d"
        echo 'export MIX_ENV=prod' >"$build_dir/.profile.d/fake_beam_mix_env.sh"
    elif [ -f "$build_dir/rebar.config" ]; then
        echo "-----> Building the rebar3 release (profile prod)"
        export REBAR_CACHE_DIR="$cache_dir/rebar3" REBAR_OFFLINE=1 REBAR_COLOR=none
        restore_cached "$cache_dir" "$build_dir" _build
        (cd "$build_dir" && rebar3 as prod release) 2>&1 | sed 's/^/       /'
        save_cached "$cache_dir" "$build_dir" _build
    elif compgen -G "$build_dir/src/*.erl" >/dev/null; then
        echo "-----> Compiling Erlang modules"
        mkdir -p "$build_dir/ebin"
        erlc -o "$build_dir/ebin" "$build_dir"/src/*.erl
    else
        echo "       **ERROR** no mix.exs, rebar.config or src/*.erl in the app" >&2
        return 1
    fi
}

install_elixir() {
    local build_dir=$1 home=${FAKE_BEAM_ELIXIR_HOME:-} tools app
    [ -n "$home" ] || return 0
    if [ ! -x "$home/bin/elixir" ] || [ ! -x "$home/bin/mix" ]; then
        echo "       **ERROR** FAKE_BEAM_ELIXIR_HOME=$home has no bin/elixir and bin/mix" >&2
        return 1
    fi
    tools=$build_dir/.platform_tools/elixir
    rm -rf "$tools"
    mkdir -p "$tools/bin"
    # What `make install` puts in lib/elixir: the scripts and each application's ebin.
    cp -a "$home"/bin/{elixir,elixirc,iex,mix} "$tools/bin/"
    for app in "$home"/lib/*/ebin; do
        mkdir -p "$tools/lib/$(basename "$(dirname "$app")")"
        cp -a "$app" "$tools/lib/$(basename "$(dirname "$app")")/"
    done
    export PATH="$tools/bin:$PATH"
    echo "-----> Installed Elixir $(elixir -e 'IO.write(System.version())') into .platform_tools/elixir"
    mkdir -p "$build_dir/.profile.d"
    # shellcheck disable=SC2016 # expanded at launch, where HOME is the app dir
    echo 'export PATH="$HOME/.platform_tools/elixir/bin:$PATH"' >"$build_dir/.profile.d/fake_beam_elixir_path.sh"
}

# Cached build outputs keep their mtimes (cp -a), so the build tools see them up to date.
restore_cached() {
    if [ -d "$1/$3" ] && [ ! -e "$2/$3" ]; then cp -a "$1/$3" "$2/$3"; fi
}
save_cached() {
    rm -rf "${1:?}/$3.new"
    cp -a "$2/$3" "$1/$3.new"
    rm -rf "${1:?}/$3"
    mv "$1/$3.new" "$1/$3"
}

release_web_command() {
    local build_dir=$1
    if [ -f "$build_dir/mix.exs" ]; then
        echo "mix run --no-halt"
    elif [ -f "$build_dir/rebar.config" ]; then
        local rel
        for rel in "$build_dir"/_build/prod/rel/*/; do
            rel=$(basename "$rel")
            echo "_build/prod/rel/$rel/bin/$rel foreground"
            return 0
        done
    else
        echo "erl -noshell -pa ebin"
    fi
}
