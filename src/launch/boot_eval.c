#include "launch/boot_eval.h"

/* Kept to one line without a ' (erlexec reads it inside single quotes) nor a backslash.
 * Every variable starts with Ecb so that no binding can clash with anything. */
/* An escript (rebar3, …) boots no_dot_erlang: never the server. */
#define SERVER_TEST                                                                         \
    "EcbPlain = init:get_plain_arguments(), "                                               \
    "init:get_argument(boot) =/= {ok, [[\"no_dot_erlang\"]]} andalso "                      \
    "(code:which(elixir) =:= non_existing orelse lists:member(\"--no-halt\", EcbPlain) "   \
    "orelse lists:member(\"phx.server\", EcbPlain))"

/* net_kernel:start([Name, longnames]) would tick as for a net_ticktime of 60 s whatever
 * -kernel net_ticktime says (OTP 25 kernel 8.5 net_kernel:start/1); the third element is the
 * tick interval in ms, a quarter of net_ticktime, taken from the kernel's own setting. */
#define TICK_MS                                                                             \
    "250 * case application:get_env(kernel, net_ticktime) of {ok, EcbTick} when "          \
    "is_integer(EcbTick), EcbTick > 0 -> EcbTick; _ -> 60 end"

/* erl starts epmd itself only for a -name given on its command line. */
#define START_EPMD                                                                          \
    "catch begin EcbBin = case init:get_argument(bindir) of {ok, [[EcbB | _] | _]} -> EcbB; " \
    "_ -> \"\" end, EcbPort = open_port({spawn_executable, filename:join(EcbBin, \"epmd\")}, " \
    "[{args, [\"-daemon\"]}, exit_status]), receive {EcbPort, {exit_status, _}} -> ok "    \
    "after 5000 -> ok end end, "

int launch_append_boot_eval(const struct config *cfg, const char *node_name,
                            struct strbuf *out)
{
    return strbuf_appendf(
        out,
        "-eval 'case erlang:is_alive() of true -> ok; false -> try case begin " SERVER_TEST
        " end of false -> io:format(standard_error, \"erlang-cluster: a pre-step BEAM: it "
        "runs unclustered, the app node is the server started after it~n\", []); true -> "
        "%scase net_kernel:start([list_to_atom(\"%s\"), longnames, " TICK_MS "]) of {ok, _} -> ok; "
        "EcbError -> io:format(standard_error, \"erlang-cluster: cannot start distribution "
        "as %s: ~p~n\", [EcbError]) end end catch EcbClass:EcbReason -> "
        "io:format(standard_error, \"erlang-cluster: boot check failed: ~p~n\", "
        "[{EcbClass, EcbReason}]) end end.'\n",
        cfg->epmd ? START_EPMD : "", node_name, node_name);
}
