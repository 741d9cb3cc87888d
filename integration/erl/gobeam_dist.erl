%% Erlang side of the distribution tests: senders, and receivers that check order and content,
%% that run on the BEAM peer, so that 100,000 messages cross the distribution link and not the
%% test harness, and what arrived is judged by erl.
-module(gobeam_dist).
-export([send_seq/3, send_seq/4, send_tcp/3, start_collector/1, start_collector/2,
         await_collector/2, start_echo/1, start_checked_echo/2, atom_messages/2, pattern/1,
         receive_one/1, listen_port/0, monitor_nodes/0, node_events/0]).

%% Sends {seq, Tag, I} for I = 1..N to Dest (a pid, a name or {Name, Node}), in order.
send_seq(Dest, Tag, N) -> send_loop(Dest, Tag, 1, N).

send_loop(_Dest, _Tag, I, N) when I > N -> ok;
send_loop(Dest, Tag, I, N) ->
    Dest ! {seq, Tag, I},
    send_loop(Dest, Tag, I + 1, N).

%% Sends {seq, Tag, I, Payload} for I = 1..N to Dest, in order.
send_seq(Dest, Tag, N, Payload) -> send_loop(Dest, Tag, 1, N, Payload).

send_loop(_Dest, _Tag, I, N, _Payload) when I > N -> ok;
send_loop(Dest, Tag, I, N, Payload) ->
    Dest ! {seq, Tag, I, Payload},
    send_loop(Dest, Tag, I + 1, N, Payload).

%% Sends Payload N times over a plain TCP connection to Port on 127.0.0.1, each with a 4-byte
%% length in front, as the distribution frames its packets: what a receiver can take in
%% without the distribution, from the same sender.
send_tcp(Port, Payload, N) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {packet, 4}, {active, false}]),
    tcp_loop(S, Payload, N),
    ok = gen_tcp:close(S).

tcp_loop(_S, _Payload, 0) -> ok;
tcp_loop(S, Payload, N) ->
    ok = gen_tcp:send(S, Payload),
    tcp_loop(S, Payload, N - 1).

%% A collector expects {seq, _, 1}, {seq, _, 2}, ... {seq, _, N} in that order, with any payload.
start_collector(N) -> start_collector(N, any).

%% A collector that also checks each payload: Expect(I) is the payload the I-th message must
%% carry, compared here with what arrived, or no_payload for a 3-tuple.
start_collector(N, Expect) ->
    spawn(fun() -> collect(1, N, Expect, none, []) end).

collect(Next, N, Expect, Error, Waiters) ->
    receive
        {seq, _Tag, I} -> seen(I, no_payload, Next, N, Expect, Error, Waiters);
        {seq, _Tag, I, Payload} -> seen(I, Payload, Next, N, Expect, Error, Waiters);
        {report, From, Ref} when Error =/= none ->
            From ! {Ref, Error}, collect(Next, N, Expect, Error, Waiters);
        {report, From, Ref} when Next > N ->
            From ! {Ref, ok}, collect(Next, N, Expect, Error, Waiters);
        {report, From, Ref} ->
            collect(Next, N, Expect, Error, [{From, Ref} | Waiters]);
        {progress, From, Ref} ->
            From ! {Ref, Next - 1}, collect(Next, N, Expect, Error, Waiters)
    end.

seen(_I, _Payload, Next, N, Expect, Error, Waiters) when Error =/= none ->
    collect(Next, N, Expect, Error, Waiters);
seen(I, _Payload, Next, N, Expect, none, Waiters) when I =/= Next ->
    failed({out_of_order, {expected, Next}, {got, I}}, Next, N, Expect, Waiters);
seen(I, Payload, Next, N, Expect, none, Waiters) ->
    case payload_error(I, Payload, Expect) of
        none when I =:= N -> reply(Waiters, ok), collect(Next + 1, N, Expect, none, []);
        none -> collect(Next + 1, N, Expect, none, Waiters);
        E -> failed(E, Next, N, Expect, Waiters)
    end.

failed(E, Next, N, Expect, Waiters) ->
    reply(Waiters, E),
    collect(Next, N, Expect, E, []).

payload_error(_I, _Payload, any) -> none;
payload_error(I, Payload, Expect) ->
    case Expect(I) of
        Payload -> none;
        Want -> bad_payload(I, Payload, Want)
    end.

%% Says where two binaries part, and how large a binary is, rather than printing megabytes.
bad_payload(I, Got, Want) when is_binary(Got), is_binary(Want) ->
    {bad_payload, {seq, I}, {size, byte_size(Got)}, {expected_size, byte_size(Want)},
     {first_difference, binary:longest_common_prefix([Got, Want])}};
bad_payload(I, Got, Want) ->
    {bad_payload, {seq, I}, {got, summary(Got)}, {expected, summary(Want)}}.

summary(Bin) when is_binary(Bin), byte_size(Bin) > 64 -> {binary_of_size, byte_size(Bin)};
summary(Term) -> Term.

reply(Waiters, Result) -> [From ! {Ref, Result} || {From, Ref} <- Waiters], ok.

%% Waits for a collector (or a checked echo) to see all its messages: ok, the first error
%% ({out_of_order, ...}, {bad_payload, ...}, {mismatch, ...}) or {timeout, Seen}.
await_collector(Pid, Timeout) ->
    Ref = make_ref(),
    Pid ! {report, self(), Ref},
    receive
        {Ref, Result} -> Result
    after Timeout ->
        Pid ! {progress, self(), Ref},
        receive {Ref, Seen} -> {timeout, Seen} after 1000 -> {timeout, unknown} end
    end.

%% A registered process that answers {From, Msg} with From ! {echo, Msg}.
start_echo(Name) ->
    Pid = spawn(fun echo/0),
    true = register(Name, Pid),
    Pid.

echo() ->
    receive
        {From, Msg} -> From ! {echo, Msg}, echo();
        _ -> echo()
    end.

%% An echo like start_echo/1 that also checks each message it echoes against the next of
%% Expected, so that what arrived is judged by erl and not only by the node that sent it and
%% reads the echo. await_collector/2 asks it for the outcome.
start_checked_echo(Name, Expected) ->
    Pid = spawn(fun() -> checked_echo(Expected, 0, none, []) end),
    true = register(Name, Pid),
    Pid.

checked_echo(Expected, Seen, Error, Waiters) ->
    receive
        {report, From, Ref} when Error =/= none ->
            From ! {Ref, Error}, checked_echo(Expected, Seen, Error, Waiters);
        {report, From, Ref} when Expected =:= [] ->
            From ! {Ref, ok}, checked_echo(Expected, Seen, Error, Waiters);
        {report, From, Ref} ->
            checked_echo(Expected, Seen, Error, [{From, Ref} | Waiters]);
        {progress, From, Ref} ->
            From ! {Ref, Seen}, checked_echo(Expected, Seen, Error, Waiters);
        {From, Msg} ->
            From ! {echo, Msg},
            echoed(Msg, Expected, Seen, Error, Waiters)
    end.

echoed(_Msg, Expected, Seen, Error, Waiters) when Error =/= none ->
    checked_echo(Expected, Seen + 1, Error, Waiters);
echoed(Msg, [Msg], Seen, none, Waiters) ->
    reply(Waiters, ok),
    checked_echo([], Seen + 1, none, []);
echoed(Msg, [Msg | Rest], Seen, none, Waiters) ->
    checked_echo(Rest, Seen + 1, none, Waiters);
echoed(Msg, Expected, Seen, none, Waiters) ->
    E = case Expected of
            [Want | _] -> {mismatch, {message, Seen}, {got, Msg}, {expected, Want}};
            [] -> {unexpected, {message, Seen}, {got, Msg}}
        end,
    reply(Waiters, E),
    checked_echo(Expected, Seen + 1, E, []).

%% The messages TestDistAtomCacheThroughManyAtoms sends, {I, Atoms} for I = 0..N-1: the same
%% pool of atoms and the same xorshift sequence from Seed as the Go test, built here so that
%% the expected terms never pass through Go's encoder.
atom_messages(Seed, N) ->
    Pool = list_to_tuple(atom_pool(0, [''], 1)),
    atom_messages(0, N, Seed, Pool, []).

atom_messages(N, N, _Rng, _Pool, Acc) -> lists:reverse(Acc);
atom_messages(I, N, Rng0, Pool, Acc) ->
    {Count, Rng1} = next_random(Rng0, 8),
    {Atoms, Rng} = pick_atoms(Count + 1, Pool, Rng1, []),
    atom_messages(I + 1, N, Rng, Pool, [{I, Atoms} | Acc]).

pick_atoms(0, _Pool, Rng, Acc) -> {lists:reverse(Acc), Rng};
pick_atoms(K, Pool, Rng0, Acc) ->
    {J, Rng} = next_random(Rng0, tuple_size(Pool)),
    pick_atoms(K - 1, Pool, Rng, [element(J + 1, Pool) | Acc]).

%% The same atoms as the Go test's pool, in the same order. \x{e4}, \x{f6}, \x{65e5} and
%% \x{672c} are its ä, ö, 日 and 本, written as escapes so that they do not hang on how the
%% source is read.
atom_pool(_I, Pool, Len) when Len >= 6000 -> lists:reverse(Pool);
atom_pool(I, Pool0, Len) ->
    N = integer_to_list(I),
    Pool = [list_to_atom("L" ++ N ++ "_" ++ lists:duplicate(200 + I rem 50, $x)),
            list_to_atom("\x{e4}t\x{f6}m_" ++ N ++ "_\x{65e5}\x{672c}"),
            list_to_atom("a" ++ N)
            | Pool0],
    case I rem 10 of
        0 -> atom_pool(I + 1, [list_to_atom(lists:duplicate(90, 16#65e5) ++ N) | Pool], Len + 4);
        _ -> atom_pool(I + 1, Pool, Len + 3)
    end.

%% xorshift64 (13, 7, 17), as the Go test steps it: {the new state rem Bound, the new state}.
next_random(Rng0, Bound) ->
    Mask = 16#FFFFFFFFFFFFFFFF,
    Rng1 = (Rng0 bxor (Rng0 bsl 13)) band Mask,
    Rng2 = Rng1 bxor (Rng1 bsr 7),
    Rng = (Rng2 bxor (Rng2 bsl 17)) band Mask,
    {Rng rem Bound, Rng}.

%% A deterministic binary of Size bytes; Go builds the same bytes to compare.
pattern(Size) ->
    Block = << <<(I * 7 rem 256)>> || I <- lists:seq(0, 255) >>,
    binary:part(binary:copy(Block, Size div 256 + 1), 0, Size).

%% Waits for one message matching nothing in particular and returns it.
receive_one(Timeout) ->
    receive M -> M after Timeout -> timeout end.

%% The port this node's distribution listens on, read from its listening socket rather than
%% from EPMD, to hold against what EPMD lists.
listen_port() ->
    [Port] = [Port || P <- erlang:ports(),
                      erlang:port_info(P, name) =:= {name, "tcp_inet"},
                      lists:member(listen, maps:get(states, inet:info(P))),
                      {ok, {_Addr, Port}} <- [inet:sockname(P)]],
    Port.

%% A registered process records nodeup/nodedown events of visible and hidden nodes for
%% node_events/0.
monitor_nodes() ->
    Parent = self(),
    Pid = spawn(fun() ->
                        ok = net_kernel:monitor_nodes(true, [nodedown_reason, {node_type, all}]),
                        Parent ! ready,
                        node_log([])
                end),
    receive ready -> ok end,
    catch unregister(gobeam_node_log),
    true = register(gobeam_node_log, Pid),
    ok.

node_log(Events) ->
    receive
        {get, From, Ref} -> From ! {Ref, lists:reverse(Events)}, node_log(Events);
        Event -> node_log([Event | Events])
    end.

node_events() ->
    Ref = make_ref(),
    gobeam_node_log ! {get, self(), Ref},
    receive {Ref, Events} -> Events after 5000 -> timeout end.
