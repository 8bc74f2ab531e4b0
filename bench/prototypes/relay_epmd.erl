%% bench/prototypes/relay_epmd.erl: the epmd module of bench/tls-dist's relay mode (a
%% prototype). Clear-text distribution, but every peer is dialled at the loopback port where
%% the local TLS relay (tls_relay.c) listens for it; this node listens on the port of
%% -erl_epmd_port (on loopback: -kernel inet_dist_use_interface), where the relay delivers
%% the peers' connections. Peers come from -relay_epmd_map "IP=PORT,IP=PORT,...".
%%   erl -epmd_module relay_epmd -start_epmd false -erl_epmd_port 9001 \
%%       -kernel inet_dist_use_interface '{127,0,0,1}' -relay_epmd_map 10.0.0.3=19003,...
-module(relay_epmd).
-export([start_link/0, register_node/2, register_node/3, listen_port_please/2,
         port_please/2, port_please/3, address_please/3, names/1]).

start_link() -> ignore.

register_node(Name, Port) -> register_node(Name, Port, inet).
register_node(_Name, _Port, _Family) -> {ok, -1}.   % -1: the VM picks a creation

listen_port_please(Name, Host) -> erl_epmd:listen_port_please(Name, Host).

port_please(Name, Host) -> port_please(Name, Host, infinity).
port_please(_Name, Host, _Timeout) ->
    case relay_port(Host) of
        {ok, Port} -> {port, Port, 6};
        error -> noport
    end.

address_please(_Name, Host, inet) ->
    case relay_port(Host) of
        {ok, Port} -> {ok, {127, 0, 0, 1}, Port, 6};
        error -> {error, {no_relay_for, Host}}
    end;
address_please(_Name, _Host, Family) -> {error, {unsupported_family, Family}}.

names(_Host) -> {error, address}.

relay_port(Host) when is_tuple(Host) -> relay_port(inet:ntoa(Host));
relay_port(Host) when is_atom(Host) -> relay_port(atom_to_list(Host));
relay_port(Host) ->
    {ok, [[Map]]} = init:get_argument(relay_epmd_map),
    Pairs = [list_to_tuple(string:split(P, "=")) || P <- string:lexemes(Map, ",")],
    case lists:keyfind(Host, 1, Pairs) of
        {_, Port} -> {ok, list_to_integer(Port)};
        false -> error
    end.
