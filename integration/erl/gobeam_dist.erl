%% Erlang side of the distribution tests: senders and order-checking receivers that run on the
%% BEAM peer, so that 100,000 messages cross the distribution link and not the test harness.
-module(gobeam_dist).
-export([send_seq/3, send_seq/4, send_tcp/3, start_collector/1, await_collector/2, start_echo/1,
         pattern/1, digest/1, receive_one/1, monitor_nodes/0, node_events/0]).

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

%% A collector expects {seq, _, 1}, {seq, _, 2}, ... {seq, _, N} in that order.
start_collector(N) ->
    spawn(fun() -> collect(1, N, none, []) end).

collect(Next, N, Error, Waiters) ->
    receive
        {seq, _Tag, I} -> seen(I, Next, N, Error, Waiters);
        {seq, _Tag, I, _Payload} -> seen(I, Next, N, Error, Waiters);
        {report, From, Ref} when Error =/= none ->
            From ! {Ref, Error}, collect(Next, N, Error, Waiters);
        {report, From, Ref} when Next > N ->
            From ! {Ref, ok}, collect(Next, N, Error, Waiters);
        {report, From, Ref} ->
            collect(Next, N, Error, [{From, Ref} | Waiters]);
        {progress, From, Ref} ->
            From ! {Ref, Next - 1}, collect(Next, N, Error, Waiters)
    end.

seen(I, Next, N, none, Waiters) when I =:= Next, I =:= N ->
    reply(Waiters, ok),
    collect(Next + 1, N, none, []);
seen(I, Next, N, none, Waiters) when I =:= Next ->
    collect(Next + 1, N, none, Waiters);
seen(I, Next, N, none, Waiters) ->
    E = {out_of_order, {expected, Next}, {got, I}},
    reply(Waiters, E),
    collect(Next, N, E, []);
seen(_I, Next, N, Error, Waiters) ->
    collect(Next, N, Error, Waiters).

reply(Waiters, Result) -> [From ! {Ref, Result} || {From, Ref} <- Waiters], ok.

%% Waits for a collector to see all its messages: ok, {out_of_order, ...} or {timeout, Seen}.
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

%% A deterministic binary of Size bytes; Go builds the same bytes to compare.
pattern(Size) ->
    Block = << <<(I * 7 rem 256)>> || I <- lists:seq(0, 255) >>,
    binary:part(binary:copy(Block, Size div 256 + 1), 0, Size).

digest(Bin) -> crypto:hash(sha256, Bin).

%% Waits for one message matching nothing in particular and returns it.
receive_one(Timeout) ->
    receive M -> M after Timeout -> timeout end.

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
