#!/bin/sh
# An agent that prints garbage for everything and exits with a code OCF does not define.
head -c 300 /dev/urandom
printf '\0\377\376 <not xml>\n'
exit 42
