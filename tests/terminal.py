# Drives a program on a pseudo-terminal: types each argument once the program waits for it (the
# n-th prompt is on the screen and the terminal is in raw mode: no echo), and prints a JSON report
# of what the terminal showed and how the program ended. PTY_ARGS holds the program's arguments
# (JSON), PTY_PROMPT the text that asks for input.
import json, os, pty, select, sys, termios, time

PROMPT = os.environ.get("PTY_PROMPT", "hit enter: ").encode()
WAIT = 10  # seconds: a program that never asks, or never ends, is reported instead of waited on


def main():
    program, inputs = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(program, [program] + json.loads(os.environ.get("PTY_ARGS", "[]")))
    screen = b""

    def read_some(seconds):
        """Adds what the program wrote within `seconds`; False once the terminal is closed."""
        nonlocal screen
        ready, _, _ = select.select([fd], [], [], seconds)
        if not ready:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        screen += data
        return bool(data)

    def echo_on():
        try:
            return bool(termios.tcgetattr(fd)[3] & termios.ECHO)
        except termios.error:
            return None

    for n, text in enumerate(inputs, 1):
        deadline = time.time() + WAIT
        while not (screen.count(PROMPT) >= n and echo_on() is False):
            if time.time() > deadline or not read_some(0.01):
                break
        try:
            os.write(fd, text.encode().decode("unicode_escape").encode("latin1"))
        except OSError:
            break  # the program has ended: the report shows why
    deadline = time.time() + WAIT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            echo = echo_on()  # the terminal as the program left it
            break
        if time.time() > deadline:
            os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
            echo = echo_on()
            break
        read_some(0.02)
    end = time.time() + 0.5
    while time.time() < end and read_some(0.05):
        pass
    report = {"screen": screen.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status), "echo": echo}
    print(json.dumps(report))


main()
