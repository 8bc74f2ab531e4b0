%% bench/tls-dist's driver, run on node A of a small cluster (the same code for TLS and clear
%% text distribution: only the node's flags differ). It connects to the peers, waits for the
%% full mesh, reads every node's memory, then measures against the first peer (node B):
%%   latency     round trips of S-byte binaries to an echo process on B (median, p95 in us)
%%   throughput  a stream of S-byte binaries to a sink on B, W messages in flight (each one
%%               acknowledged by a small message), in MB/s (10^6 bytes) and the CPU time both
%%               VMs spent on it (statistics(runtime): every thread of the VM)
%% Prints one TSV line per figure: "figure<TAB>size<TAB>value" (and "mem<TAB>..." lines).
%% TLS_DIST_BENCH_CPU_PIDS="PID_A PID_B" (optional): OS processes that carry this pair's
%% traffic besides the VMs (bench/tls-dist's relays), their CPU time added to the VMs':
%% both to cpu_ms_per_mb, the first to setup_cpu_ms_dialler.
%%
%%   erl ... -s tls_dist_bench main SETTLE_MS LAT_1K LAT_1M STREAM_1K STREAM_1M WIN_1K WIN_1M PEER...
%%
%% sockets/1 is the baseline without distribution: MB 1 MB sends from one process to another
%% in one VM over loopback, through a TLS 1.3 socket of the ssl application (the certificate
%% and key given, no verification) and through a plain gen_tcp socket, and the cipher alone
%% (crypto's AES-256-GCM, which TLS 1.3 negotiates here, on the same 1 MB binary):
%%   erl ... -s tls_dist_bench sockets CERTFILE KEYFILE MB
%%
%% setups/1, run in a hidden node (so that global takes no part): N connection set-ups to PEER
%% (connect_node, then disconnect_node), each timed; prints the median and p95 in us and this
%% VM's CPU time per set-up (whole OS process, 10 ms ticks over all N):
%%   erl ... -hidden -s tls_dist_bench setups PEER N
-module(tls_dist_bench).
-export([main/1, echo/0, sink/0, memory/0, sockets/1, setups/1]).

-define(KB, 1024).
-define(MB, 1048576).

main([SettleMs, Lat1K, Lat1M, Stream1K, Stream1M, Win1K, Win1M | Peers]) ->
    [Settle, L1K, L1M, S1K, S1M, W1K, W1M] =
        [list_to_integer(atom_to_list(A)) || A <- [SettleMs, Lat1K, Lat1M, Stream1K, Stream1M, Win1K, Win1M]],
    try
        mesh(Peers),
        timer:sleep(Settle),
        [print_memory(idle, N) || N <- [node() | Peers]],
        [B | _] = Peers,
        latency(B, ?KB, L1K),
        latency(B, ?MB, L1M),
        throughput(B, ?KB, S1K, W1K),
        throughput(B, ?MB, S1M, W1M),
        [print_memory(after_traffic, N) || N <- [node(), B]],
        halt(0)
    catch Class:Reason:Stack ->
        io:format(standard_error, "tls_dist_bench: ~p:~p ~p~n", [Class, Reason, Stack]),
        halt(1)
    end.

%% Every node lists every other one (global meshes the peers once A knows them all).
mesh(Peers) ->
    [true = net_kernel:connect_node(P) || P <- Peers],
    All = lists:sort([node() | Peers]),
    Deadline = erlang:monotonic_time(millisecond) + 60000,
    wait_mesh(All, Deadline).

wait_mesh(All, Deadline) ->
    Complete = lists:all(fun(N) ->
                             case rpc:call(N, erlang, nodes, [], 5000) of
                                 L when is_list(L) -> lists:sort([N | L]) =:= All;
                                 _ -> false
                             end
                         end, All),
    case Complete of
        true -> ok;
        false ->
            erlang:monotonic_time(millisecond) < Deadline orelse error(no_full_mesh),
            timer:sleep(50),
            wait_mesh(All, Deadline)
    end.

print_memory(Phase, Node) ->
    {Rss, Hwm, Pss, Private, Code, Procs, Ets, Bin} = rpc:call(Node, ?MODULE, memory, [], 10000),
    io:format("mem\t~s\t~s\t~B\t~B\t~B\t~B\t~B\t~B\t~B\t~B~n",
              [Phase, Node, Rss, Hwm, Pss, Private, Code, Procs, Ets, Bin]).

%% memory(): this VM's VmRSS, VmHWM, Pss, Private_Clean + Private_Dirty, then what the VM says
%% its code, processes, ETS tables and binaries take (erlang:memory/1), all in kB.
memory() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    {ok, Rollup} = file:read_file("/proc/self/smaps_rollup"),
    Fields = [{K, V} || Line <- binary:split(<<Status/binary, Rollup/binary>>, <<"\n">>, [global]),
                        [K, V] <- [binary:split(Line, <<":">>)]],
    Kb = fun(K) -> [N | _] = string:lexemes(proplists:get_value(K, Fields), " \t"),
                   binary_to_integer(N) end,
    Vm = fun(What) -> erlang:memory(What) div 1024 end,
    {Kb(<<"VmRSS">>), Kb(<<"VmHWM">>), Kb(<<"Pss">>),
     Kb(<<"Private_Clean">>) + Kb(<<"Private_Dirty">>),
     Vm(code), Vm(processes), Vm(ets), Vm(binary)}.

echo() ->
    receive
        {From, Bin} -> From ! {echo, Bin}, echo();
        stop -> ok
    end.

sink() ->
    receive
        {From, Seq, _Bin} -> From ! {ack, Seq}, sink();
        stop -> ok
    end.

latency(B, Size, N) ->
    Echo = spawn(B, ?MODULE, echo, []),
    Bin = binary:copy(<<"x">>, Size),
    _ = [round_trip(Echo, Bin) || _ <- lists:seq(1, max(3, N div 10))],   % warm-up
    Samples = lists:sort([round_trip(Echo, Bin) || _ <- lists:seq(1, N)]),
    Echo ! stop,
    io:format("latency_median_us\t~B\t~B~n", [Size, percentile(Samples, 50)]),
    io:format("latency_p95_us\t~B\t~B~n", [Size, percentile(Samples, 95)]).

round_trip(Echo, Bin) ->
    T0 = erlang:monotonic_time(microsecond),
    Echo ! {self(), Bin},
    receive {echo, Back} when byte_size(Back) =:= byte_size(Bin) -> ok
    after 30000 -> error(echo_timeout)
    end,
    erlang:monotonic_time(microsecond) - T0.

%% Nearest rank.
percentile(Sorted, P) ->
    Rank = max(1, ceil(P * length(Sorted) / 100)),
    lists:nth(Rank, Sorted).

throughput(B, Size, N, Window) ->
    Sink = spawn(B, ?MODULE, sink, []),
    Bin = binary:copy(<<"y">>, Size),
    stream(Sink, Bin, max(Window, N div 10), Window),                     % warm-up
    {_, _} = statistics(runtime),
    {RemoteCpu0, _} = rpc:call(B, erlang, statistics, [runtime], 10000),
    Extra0 = extra_cpu_ms(all),
    T0 = erlang:monotonic_time(microsecond),
    stream(Sink, Bin, N, Window),
    Us = erlang:monotonic_time(microsecond) - T0,
    {_, LocalCpu} = statistics(runtime),
    {RemoteCpu1, _} = rpc:call(B, erlang, statistics, [runtime], 10000),
    Extra = extra_cpu_ms(all) - Extra0,
    Sink ! stop,
    Bytes = N * Size,
    io:format("throughput_mb_s\t~B\t~.2f~n", [Size, Bytes / Us]),
    io:format("messages_per_s\t~B\t~B~n", [Size, round(N * 1.0e6 / Us)]),
    io:format("cpu_ms_per_mb\t~B\t~.2f~n", [Size, (LocalCpu + RemoteCpu1 - RemoteCpu0 + Extra) / (Bytes / 1.0e6)]).

%% The CPU time (ms, 10 ms ticks) of the processes in TLS_DIST_BENCH_CPU_PIDS: all, or the first.
extra_cpu_ms(Which) ->
    Pids = string:lexemes(os:getenv("TLS_DIST_BENCH_CPU_PIDS", ""), " "),
    Chosen = case {Which, Pids} of {first, [P | _]} -> [P]; {first, []} -> []; {all, _} -> Pids end,
    lists:sum([process_cpu_ms("/proc/" ++ P ++ "/stat") || P <- Chosen]).

%% N messages to Sink, at most Window unacknowledged.
stream(Sink, Bin, N, Window) ->
    First = min(N, Window),
    [Sink ! {self(), Seq, Bin} || Seq <- lists:seq(1, First)],
    stream_loop(Sink, Bin, First, N, 0).

stream_loop(_Sink, _Bin, _Sent, N, N) -> ok;
stream_loop(Sink, Bin, Sent, N, Acked) ->
    receive
        {ack, _} when Sent < N ->
            Sink ! {self(), Sent + 1, Bin},
            stream_loop(Sink, Bin, Sent + 1, N, Acked + 1);
        {ack, _} ->
            stream_loop(Sink, Bin, Sent, N, Acked + 1)
    after 30000 -> error(stream_timeout)
    end.

sockets([CertFile, KeyFile, MbAtom]) ->
    Mb = list_to_integer(atom_to_list(MbAtom)),
    try
        {ok, _} = application:ensure_all_started(ssl),
        Bin = binary:copy(<<"z">>, ?MB),
        Tls = [binary, {active, false}, {versions, ['tlsv1.3']}, {verify, verify_none}],
        {ok, L} = ssl:listen(0, [{certfile, atom_to_list(CertFile)}, {keyfile, atom_to_list(KeyFile)} | Tls]),
        {ok, {_, Port}} = ssl:sockname(L),
        Parent = self(),
        spawn_link(fun() -> {ok, S0} = ssl:transport_accept(L), {ok, S} = ssl:handshake(S0),
                            drain(fun ssl:recv/2, S, Mb * ?MB), Parent ! drained end),
        {ok, C} = ssl:connect({127, 0, 0, 1}, Port, Tls),
        {ok, [{selected_cipher_suite, #{cipher := Cipher}}]} = ssl:connection_information(C, [selected_cipher_suite]),
        Drained = fun() -> receive drained -> ok after 60000 -> error(drain_timeout) end end,
        socket_figure(io_lib:format("ssl_socket_~s", [Cipher]), fun() -> ok = ssl:send(C, Bin) end, Drained, Mb),
        {ok, TL} = gen_tcp:listen(0, [binary, {active, false}]),
        {ok, TPort} = inet:port(TL),
        spawn_link(fun() -> {ok, S} = gen_tcp:accept(TL), drain(fun gen_tcp:recv/2, S, Mb * ?MB), Parent ! drained end),
        {ok, T} = gen_tcp:connect({127, 0, 0, 1}, TPort, [binary, {active, false}]),
        socket_figure("tcp_socket", fun() -> ok = gen_tcp:send(T, Bin) end, Drained, Mb),
        %% The same TLS socket with a 64 KB user-level buffer (inet's default: 1460 bytes) on
        %% both sides: the accepted socket inherits the listen socket's.
        {ok, BL} = ssl:listen(0, [{certfile, atom_to_list(CertFile)}, {keyfile, atom_to_list(KeyFile)},
                                  {buffer, 65536} | Tls]),
        {ok, {_, BPort}} = ssl:sockname(BL),
        spawn_link(fun() -> {ok, S0} = ssl:transport_accept(BL), {ok, S} = ssl:handshake(S0),
                            drain(fun ssl:recv/2, S, Mb * ?MB), Parent ! drained end),
        {ok, BC} = ssl:connect({127, 0, 0, 1}, BPort, [{buffer, 65536} | Tls]),
        socket_figure(io_lib:format("ssl_socket_~s_buffer_64k", [Cipher]), fun() -> ok = ssl:send(BC, Bin) end, Drained, Mb),
        Key = crypto:strong_rand_bytes(32),
        Iv = crypto:strong_rand_bytes(12),
        socket_figure("crypto_aes_256_gcm",
                      fun() -> _ = crypto:crypto_one_time_aead(aes_256_gcm, Key, Iv, Bin, <<>>, true) end,
                      fun() -> ok end, Mb),
        halt(0)
    catch Class:Reason:Stack ->
        io:format(standard_error, "tls_dist_bench: ~p:~p ~p~n", [Class, Reason, Stack]),
        halt(1)
    end.

%% Prints "NAME<TAB>MB/s<TAB>CPU ms per MB" for Mb calls of Send, then Wait() (the receiver
%% has everything).
socket_figure(Name, Send, Wait, Mb) ->
    {_, _} = statistics(runtime),
    T0 = erlang:monotonic_time(microsecond),
    _ = [Send() || _ <- lists:seq(1, Mb)],
    Wait(),
    Us = erlang:monotonic_time(microsecond) - T0,
    {_, Cpu} = statistics(runtime),
    Bytes = Mb * ?MB,
    io:format("~s\t~.2f\t~.2f~n", [Name, Bytes / Us, Cpu / (Bytes / 1.0e6)]).

drain(_Recv, _S, Left) when Left =< 0 -> ok;
drain(Recv, S, Left) ->
    {ok, B} = Recv(S, 0),
    drain(Recv, S, Left - byte_size(B)).

setups([Peer, NAtom]) ->
    N = list_to_integer(atom_to_list(NAtom)),
    try
        Cpu0 = process_cpu_ms("/proc/self/stat") + extra_cpu_ms(first),
        Samples = lists:sort([setup(Peer) || _ <- lists:seq(1, N)]),
        Cpu = process_cpu_ms("/proc/self/stat") + extra_cpu_ms(first) - Cpu0,
        io:format("setup_median_us\t0\t~B~n", [percentile(Samples, 50)]),
        io:format("setup_p95_us\t0\t~B~n", [percentile(Samples, 95)]),
        io:format("setup_cpu_ms_dialler\t0\t~.2f~n", [Cpu / N]),
        halt(0)
    catch Class:Reason:Stack ->
        io:format(standard_error, "tls_dist_bench: ~p:~p ~p~n", [Class, Reason, Stack]),
        halt(1)
    end.

%% An OS process's utime + stime (/proc/PID/stat, in clock ticks of 10 ms), in ms: every
%% thread, dirty schedulers included.
process_cpu_ms(StatFile) ->
    {ok, Stat} = file:read_file(StatFile),
    [_, AfterComm] = binary:split(Stat, <<") ">>),
    Fields = binary:split(AfterComm, <<" ">>, [global]),
    (binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields))) * 10.

setup(Peer) ->
    T0 = erlang:monotonic_time(microsecond),
    true = net_kernel:connect_node(Peer),
    Us = erlang:monotonic_time(microsecond) - T0,
    true = erlang:disconnect_node(Peer),
    wait_gone(Peer, 100),
    Us.

wait_gone(Peer, 0) -> error({still_connected, Peer});
wait_gone(Peer, Tries) ->
    case lists:member(Peer, nodes(hidden)) of
        false -> ok;
        true -> timer:sleep(10), wait_gone(Peer, Tries - 1)
    end.
