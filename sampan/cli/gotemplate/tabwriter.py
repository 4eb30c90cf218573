"""Go's text/tabwriter as the docker CLI configures it (minwidth 10, tabwidth 1, padding 3,
padchar ' ', no flags): tab-terminated cells aligned in column blocks; a line's last cell
(not tab-terminated) takes no part in the alignment."""

from __future__ import annotations


def align(text: str, minwidth: int = 10, padding: int = 3) -> str:
    out: list[str] = []
    lines: list[list[str]] = []
    pieces = text.split("\n")
    for i, raw in enumerate(pieces):
        lines.append(raw.split("\t"))
        last = i == len(pieces) - 1
        if last or len(lines[-1]) == 1:
            # a line of one cell ends every column block: what follows is formatted afresh
            _format(lines, minwidth, padding, out, last)
            lines = []
    return "".join(out)


def _format(lines: list[list[str]], minwidth: int, padding: int, out: list[str], ends_text: bool) -> None:
    widths: list[int] = []

    def write_lines(a: int, b: int) -> None:
        for i in range(a, b):
            line = lines[i]
            for j, cell in enumerate(line):
                out.append(cell)
                if j < len(widths) and j < len(line) - 1:
                    out.append(" " * (widths[j] - len(cell)))
            if not (ends_text and i == len(lines) - 1):
                out.append("\n")

    def fmt(line0: int, line1: int) -> int:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)
        return line1

    fmt(0, len(lines))
