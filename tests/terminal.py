# Drives a program on a pseudo-terminal: types each argument (after the screen settles) and
# prints a JSON report of what the terminal showed and how the program ended.
import json, os, pty, select, sys, termios, time

def main():
    program, inputs = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(program, [program] + json.loads(os.environ.get("PTY_ARGS", "[]")))
    screen = b""
    def drain(seconds):
        nonlocal screen
        end = time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    return
                if not data:
                    return
                screen += data
    drain(1.0)
    for text in inputs:
        os.write(fd, text.encode().decode("unicode_escape").encode("latin1"))
        drain(1.0)
    def echo_on():
        try:
            return bool(termios.tcgetattr(fd)[3] & termios.ECHO)
        except termios.error:
            return None
    deadline = time.time() + 10
    status = None
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            echo = echo_on()  # the terminal as the program left it
            break
        drain(0.1)
    else:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        echo = echo_on()
    drain(0.2)
    print(json.dumps({"screen": screen.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status), "echo": echo}))

main()
