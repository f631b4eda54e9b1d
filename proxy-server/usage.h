/* `proxy-server usage`: totals per day and per month from the store. */
#ifndef PROXY_SERVER_USAGE_H
#define PROXY_SERVER_USAGE_H

int usage_main(int argc, char **argv);

#endif
