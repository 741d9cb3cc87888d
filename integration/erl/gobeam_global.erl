%% Erlang side of the global tests: global:sync/0 with a bound, processes that hold global
%% names, and what global knows on this node.
-module(gobeam_global).
-export([sync/1, start_named/1, start_named/2, stop_named/1, lookup/1, names/0,
         call_global/2, known/0, ask/2]).

%% Runs global:sync() and returns its result, or timeout if it does not return within
%% Timeout ms (the syncing process is then killed).
sync(Timeout) ->
    Self = self(),
    Ref = make_ref(),
    {Pid, Mon} = spawn_monitor(fun() -> Self ! {Ref, global:sync()} end),
    receive
        {Ref, Result} -> erlang:demonitor(Mon, [flush]), Result;
        {'DOWN', Mon, process, Pid, Reason} -> {error, Reason}
    after Timeout ->
        exit(Pid, kill),
        timeout
    end.

%% Starts a process and registers it as a global name: {yes | no, Pid}. The process answers
%% {ping, From} with From ! {pong, Name, self()} and forwards anything else to the test's
%% collector registered as gobeam_global_collector, if any.
start_named(Name) -> start_named(Name, fun global:register_name/2).

start_named(Name, Register) ->
    Parent = self(),
    Pid = spawn(fun() ->
                        Parent ! {self(), Register(Name, self())},
                        named_loop(Name)
                end),
    receive {Pid, Result} -> {Result, Pid} after 30000 -> {timeout, Pid} end.

named_loop(Name) ->
    receive
        {ping, From} -> From ! {pong, Name, self()}, named_loop(Name);
        stop -> ok;
        Other ->
            case erlang:whereis(gobeam_global_collector) of
                undefined -> ok;
                Collector -> Collector ! {Name, Other}
            end,
            named_loop(Name)
    end.

stop_named(Pid) ->
    Mon = erlang:monitor(process, Pid),
    Pid ! stop,
    receive {'DOWN', Mon, process, Pid, _} -> ok after 5000 -> timeout end.

lookup(Name) -> global:whereis_name(Name).

names() -> lists:sort(global:registered_names()).

%% Sends Msg to the global name and returns what global:send/2 returned, or {error, R}.
call_global(Name, Msg) ->
    try global:send(Name, Msg) catch exit:R -> {error, R} end.

%% The nodes global has synced with here (global's known nodes).
known() -> lists:sort(gen_server:call(global_name_server, get_known)).

%% Sends {ping, self()} to the global name and waits for the answer.
ask(Name, Timeout) ->
    case global:whereis_name(Name) of
        undefined -> undefined;
        Pid ->
            Pid ! {ping, self()},
            receive
                {pong, _, _} = Pong -> Pong;
                {Name, _} = Forwarded -> Forwarded
            after Timeout -> timeout
            end
    end.
