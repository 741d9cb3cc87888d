%% Erlang side of the kernel tests: spawn, rpc and erpc against a Go node, each observed the way
%% Erlang code observes it (EXIT and DOWN messages, the results and exceptions of the calls), so
%% the same function run against a BEAM node gives the reference answer.
-module(gobeam_kernel).
-export([link_ping_stop/5, monitor_ping_stop/5, spawn_ping_stop/5, request_ping_stop/6,
         link_exit/4, monitor_down/4, request_reply/5, messages_then_exit/4, repeat_messages_then_exit/5,
         rpc/4, erpc/4, block_call/4, multicall/4, cast_and_wait/4, erpc_fun/1, spawn_fun/1,
         features/1, fail/1, tell/2]).

%% Sends {ping, self()} to Pid and waits for {pong, Tag, Pid}; then sends {stop, Reason}.
ping_stop(Pid, Reason) ->
    Pid ! {ping, self()},
    Reply = receive {pong, _, Pid} = P -> P after 5000 -> no_pong end,
    Pid ! {stop, Reason},
    Reply.

%% spawn_link/4, a ping, a stop: {IsRemote, Pong, ExitReason}.
link_ping_stop(Node, M, F, A, Reason) ->
    process_flag(trap_exit, true),
    Pid = spawn_link(Node, M, F, A),
    Reply = ping_stop(Pid, Reason),
    Exit = receive {'EXIT', Pid, R} -> R after 5000 -> no_exit end,
    {node(Pid) =:= Node, Reply, Exit}.

%% spawn_monitor/4, a ping, a stop: {IsRemote, Pong, DownReason}.
monitor_ping_stop(Node, M, F, A, Reason) ->
    {Pid, Ref} = spawn_monitor(Node, M, F, A),
    Reply = ping_stop(Pid, Reason),
    Down = receive {'DOWN', Ref, process, Pid, R} -> R after 5000 -> no_down end,
    {node(Pid) =:= Node, Reply, Down}.

%% spawn/4, then a monitor, a ping, a stop: {IsRemote, Pong, DownReason}.
spawn_ping_stop(Node, M, F, A, Reason) ->
    Pid = spawn(Node, M, F, A),
    Ref = erlang:monitor(process, Pid),
    Reply = ping_stop(Pid, Reason),
    Down = receive {'DOWN', Ref, process, Pid, R} -> R after 5000 -> no_down end,
    {node(Pid) =:= Node, Reply, Down}.

%% erlang:spawn_request/5 with Opts (which must ask for link, monitor and {reply_tag, Tag}), a
%% ping, a stop: {Tag, IsRemote, Pong, ExitReason, DownReason}.
request_ping_stop(Node, M, F, A, Opts, Reason) ->
    process_flag(trap_exit, true),
    {reply_tag, Tag} = lists:keyfind(reply_tag, 1, Opts),
    ReqId = spawn_request(Node, M, F, A, Opts),
    receive
        {Tag, ReqId, ok, Pid} ->
            Reply = ping_stop(Pid, Reason),
            Exit = receive {'EXIT', Pid, R1} -> R1 after 5000 -> no_exit end,
            Down = receive {'DOWN', ReqId, process, Pid, R2} -> R2 after 5000 -> no_down end,
            {Tag, node(Pid) =:= Node, Reply, Exit, Down};
        {Tag, ReqId, error, Error} ->
            {Tag, error, Error}
    after 5000 -> no_spawn_reply
    end.

%% The exit reason a spawn_link/4 of M:F(A) ends with.
link_exit(Node, M, F, A) ->
    process_flag(trap_exit, true),
    Pid = spawn_link(Node, M, F, A),
    receive {'EXIT', Pid, R} -> R after 5000 -> no_exit end.

%% The DOWN reason of a spawn_monitor/4 of M:F(A).
monitor_down(Node, M, F, A) ->
    {Pid, Ref} = spawn_monitor(Node, M, F, A),
    receive {'DOWN', Ref, process, Pid, R} -> R after 5000 -> no_down end.

%% The spawn_reply of erlang:spawn_request/5: {ok, IsPid} or {error, Reason}.
request_reply(Node, M, F, A, Opts) ->
    ReqId = spawn_request(Node, M, F, A, Opts),
    receive
        {spawn_reply, ReqId, ok, Pid} -> {ok, is_pid(Pid)};
        {spawn_reply, ReqId, error, Reason} -> {error, Reason}
    after 5000 -> no_spawn_reply
    end.

%% Spawns M:F(A) with a monitor and collects, in arrival order, the messages it sends until its
%% DOWN: [{message, Msg} | ...] ++ [{down, Reason}].
messages_then_exit(Node, M, F, A) ->
    {Pid, Ref} = spawn_monitor(Node, M, F, A),
    collect(Pid, Ref, []).

%% messages_then_exit/4 N times; the distinct results, with {started, Pid} messages reduced
%% to started.
repeat_messages_then_exit(N, Node, M, F, A) ->
    Runs = [[case Item of
                 {message, {started, P}} when is_pid(P) -> {message, started};
                 Other -> Other
             end || Item <- messages_then_exit(Node, M, F, A)]
            || _ <- lists:seq(1, N)],
    lists:usort(Runs).

collect(Pid, Ref, Acc) ->
    receive
        {'DOWN', Ref, process, Pid, R} -> lists:reverse([{down, R} | Acc]);
        Msg -> collect(Pid, Ref, [{message, Msg} | Acc])
    after 5000 -> lists:reverse([timeout | Acc])
    end.

rpc(Node, M, F, A) -> rpc:call(Node, M, F, A, 10000).

%% erpc:call as a term: {return, Value} or {Class, Reason}.
erpc(Node, M, F, A) ->
    try erpc:call(Node, M, F, A, 10000) of
        V -> {return, V}
    catch
        Class:Reason -> {Class, Reason}
    end.

block_call(Node, M, F, A) -> rpc:block_call(Node, M, F, A, 10000).

multicall(Nodes, M, F, A) -> erpc:multicall(Nodes, M, F, A, 10000).

%% rpc:cast of M:F(A ++ [self()]); waits for the message the function sends to the caller.
cast_and_wait(Node, M, F, A) ->
    true = rpc:cast(Node, M, F, A ++ [self()]),
    receive Msg -> Msg after 5000 -> no_message end.

%% erpc:call/2 of a closure: a node without this module's code cannot run it.
erpc_fun(Node) ->
    try erpc:call(Node, fun() -> node() end, 10000) of
        V -> {return, V}
    catch
        error:{exception, undef, [{Fun, [], []}, {erlang, apply, 2, []}]} when is_function(Fun) ->
            undef_fun;
        Class:Reason -> {Class, Reason}
    end.

%% spawn_link/2 of a closure: undef on a node without this module's code, the fun on top.
spawn_fun(Node) ->
    process_flag(trap_exit, true),
    Pid = spawn_link(Node, fun() -> node() end),
    receive
        {'EXIT', Pid, {undef, [{Fun, [], []}]}} when is_function(Fun) -> undef_fun;
        {'EXIT', Pid, R} -> R
    after 5000 -> no_exit
    end.

%% Whether rpc's nodes observer learnt that Node supports erpc (rex's features_reply).
features(Node) ->
    Tab = persistent_term:get(rex_nodes_observer),
    ets:lookup(Tab, Node).

%% The Erlang twin of the Go failing function: raises what Kind says.
fail({error, R}) -> erlang:error(R);
fail({exit, R}) -> exit(R);
fail({throw, V}) -> throw(V);
fail({return, V}) -> V.

%% Sends Msg to Pid; for rpc:cast.
tell(Msg, Pid) -> Pid ! Msg, ok.
