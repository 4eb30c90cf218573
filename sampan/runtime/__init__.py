"""The OCI runtime layer: runc's verbs over a bundle, native (in-process) or runc/crun.

Public API: sampan.runtime.base (Stdio, Created, RuntimeState, the OCIRuntime interface
with every verb the engine calls, cgroups_path(cid), become_subreaper()) and
sampan.runtime.factory.get_runtime(name, state_dir). The caller becomes a
subreaper, calls create() then start(); the container's init (and every
exec'd process) is the caller's child, reaped with os.waitpid by the caller.
Call oom_killed() before delete(): delete removes the cgroup that holds the
OOM counter. Nothing is imported here so `import sampan.runtime` stays free.
"""
