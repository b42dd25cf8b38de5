"""The colours people learn once: the same in the live panel and the post-call report."""

REP_STYLE = "cyan"
CUSTOMER_STYLE = "magenta"
GOOD = "green"
WARN = "yellow"
BAD = "red"
