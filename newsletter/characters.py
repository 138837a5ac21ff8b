"""Characters that text from posts and settings may not hold where it goes (a light module: no YAML)."""

from __future__ import annotations

import re

# Characters no feed (XML 1.0) or e-mail header may hold; tab, LF, CR are fine.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Everything str.splitlines() and e-mail header folding treat as a line break.
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
