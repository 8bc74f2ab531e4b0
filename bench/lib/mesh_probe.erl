%% The convergence benchmarks' observer: a hidden, non-listening node in the switch
%% namespace that watches every instance slot from the node's own view. One poller per slot
%% (so a slow or cut node never delays the others): while not connected it first tries a
%% plain TCP connect to the distribution port with a short timeout (so a slot whose container
%% does not exist yet costs 100 ms, not a full connection set-up), then asks the node for
%% erlang:nodes() with one rpc. Only changes are printed, one line each, with the wall clock
%% in milliseconds:
%%   T SLOT up                the distribution port accepted a connection (first time)
%%   T SLOT down              it no longer does
%%   T SLOT sees S1,S2,...    the node's nodes() (as slot numbers; "-" for none, "?" for a
%%                            node outside the watched slots)
%% Started as: erl ... -s mesh_probe main Basename Subnet DistPort Slots IntervalMs
-module(mesh_probe).
-export([main/1]).

main([Basename, Subnet, Port, Slots, Interval]) ->
    Collector = self(),
    N = list_to_integer(atom_to_list(Slots)),
    P = list_to_integer(atom_to_list(Port)),
    Ms = list_to_integer(atom_to_list(Interval)),
    Names = [{S, node_name(Basename, Subnet, S)} || S <- lists:seq(0, N - 1)],
    SlotOf = maps:from_list([{Name, S} || {S, Name} <- Names]),
    [spawn_link(fun() -> poll(S, Name, ip(Subnet, S), P, Ms, Collector) end)
     || {S, Name} <- Names],
    io:format("~b probe started~n", [now_ms()]),
    collect(SlotOf, #{}).

node_name(Basename, Subnet, Slot) ->
    list_to_atom(lists:flatten(io_lib:format("~s@~s.~b", [Basename, Subnet, 10 + Slot]))).

ip(Subnet, Slot) ->
    {ok, Addr} = inet:parse_ipv4_address(lists:flatten(io_lib:format("~s.~b", [Subnet, 10 + Slot]))),
    Addr.

now_ms() -> os:system_time(millisecond).

poll(Slot, Name, Ip, Port, Ms, Collector) ->
    Connected = lists:member(Name, nodes(hidden)),
    Result = case Connected orelse port_open(Ip, Port) of
                 false -> down;
                 true ->
                     try erpc:call(Name, erlang, nodes, [], 1000) of
                         Nodes -> {sees, Nodes}
                     catch
                         _:_ when Connected -> unknown; % slow or cut: no news
                         _:_ -> up                      % listening, not answering yet
                     end
             end,
    Collector ! {Slot, now_ms(), Result},
    %% Look twice as often for a node that is not up yet: its coming up is what is timed.
    timer:sleep(case Result of down -> Ms div 2; _ -> Ms end),
    poll(Slot, Name, Ip, Port, Ms, Collector).

port_open(Ip, Port) ->
    case gen_tcp:connect(Ip, Port, [binary, {active, false}], 100) of
        {ok, Sock} -> gen_tcp:close(Sock), true;
        {error, _} -> false
    end.

collect(SlotOf, Last) ->
    receive
        {_Slot, _T, unknown} ->
            collect(SlotOf, Last);
        {Slot, T, Result} ->
            Line = case Result of
                       down -> "down";
                       up -> "up";
                       {sees, Nodes} ->
                           Seen = lists:sort([maps:get(Nd, SlotOf, unknown) || Nd <- Nodes]),
                           "sees " ++ slots_text(Seen)
                   end,
            Was = maps:get(Slot, Last, none),
            %% "sees" implies "up": print "up" first the first time, so every up is visible.
            case {Was, Result} of
                {Line, _} -> ok;
                {W, {sees, _}} when W =:= none; W =:= "down" ->
                    io:format("~b ~b up~n~b ~b ~s~n", [T, Slot, T, Slot, Line]);
                _ ->
                    io:format("~b ~b ~s~n", [T, Slot, Line])
            end,
            collect(SlotOf, Last#{Slot => Line})
    end.

slots_text([]) -> "-";
slots_text(Seen) ->
    lists:join(",", [case S of unknown -> "?"; _ -> integer_to_list(S) end || S <- Seen]).
