#ifndef PROXY_CLIENT_RULES_CMD_H
#define PROXY_CLIENT_RULES_CMD_H

/* `proxy-client rules ...` (argv[0] is "rules"); the exit status. */
int rules_main(int argc, char **argv);

#endif
