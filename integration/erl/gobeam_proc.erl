%% Erlang side of the process-semantics tests: a gen_server for Go to call, and watchers that
%% link to or monitor a Go process and report what they receive.
-module(gobeam_proc).
-behaviour(gen_server).
-export([start_server/1, watch/3, linked_waiter/2, call/3, cast/2, call_then_mailbox/4, exit_after/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% A registered gen_server: call {echo, X} -> X; cast {store, X}; call stored -> X.
start_server(Name) ->
    {ok, Pid} = gen_server:start({local, Name}, ?MODULE, [], []),
    unlink(Pid),
    Pid.

init([]) -> {ok, undefined}.
handle_call({echo, X}, _From, S) -> {reply, X, S};
handle_call(stored, _From, S) -> {reply, S, S};
handle_call(crash, _From, _S) -> exit(crashed_on_purpose).
handle_cast({store, X}, _S) -> {noreply, X}.
handle_info(_, S) -> {noreply, S}.

%% A process that traps exits, links to (Mode = link) or monitors (Mode = monitor) Target, and
%% sends everything it receives afterwards to Report as {watched, Self, Msg}.
watch(Target, Mode, Report) ->
    Parent = self(),
    Pid = spawn(fun() ->
                        process_flag(trap_exit, true),
                        Ref = case Mode of
                                  link -> link(Target), none;
                                  monitor -> erlang:monitor(process, Target)
                              end,
                        Parent ! {ready, self(), Ref},
                        forward(Report)
                end),
    receive {ready, Pid, Ref} -> {Pid, Ref} after 5000 -> timeout end.

forward(Report) ->
    receive Msg -> Report ! {watched, self(), Msg}, forward(Report) end.

%% A process that does not trap exits, links to Target and waits; it reports to Report when it
%% dies, through a monitor held by a helper.
linked_waiter(Target, Report) ->
    Parent = self(),
    Pid = spawn(fun() -> link(Target), Parent ! {ready, self()}, receive stop -> ok end end),
    receive {ready, Pid} -> ok end,
    spawn(fun() ->
                  Ref = erlang:monitor(process, Pid),
                  receive {'DOWN', Ref, process, Pid, Reason} -> Report ! {waiter_down, Pid, Reason} end
          end),
    Pid.

%% gen_server:call and cast from erl, returning {ok, Reply} or {error, {Class, Reason}}.
call(Dest, Req, Timeout) ->
    try {ok, gen_server:call(Dest, Req, Timeout)}
    catch Class:Reason -> {error, {Class, Reason}}
    end.

cast(Dest, Msg) -> gen_server:cast(Dest, Msg).

%% call/3 from a fresh process, then whatever reached that process's mailbox within Wait ms
%% after the call returned: {CallResult, Messages}.
call_then_mailbox(Dest, Req, Timeout, Wait) ->
    Parent = self(),
    Ref = make_ref(),
    spawn(fun() ->
                  R = call(Dest, Req, Timeout),
                  timer:sleep(Wait),
                  Parent ! {Ref, R, flush()}
          end),
    receive {Ref, R, Ms} -> {R, Ms} end.

flush() ->
    receive M -> [M | flush()] after 0 -> [] end.

%% A process that links to Target, waits Ms and exits with Reason.
exit_after(Target, {Ms, Reason}) ->
    Parent = self(),
    Pid = spawn(fun() -> link(Target), Parent ! {ready, self()}, timer:sleep(Ms), exit(Reason) end),
    receive {ready, Pid} -> Pid end.
