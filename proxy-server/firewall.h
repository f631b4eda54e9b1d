/* Opening the server's port (TCP, and UDP for the datagram path) in
 * this machine's firewall, for setup --open-firewall: through ufw when it is active, else in every nft
 * base chain on the input hook, else with iptables/ip6tables. A rule
 * already there is left alone, so running it twice adds nothing. */
#ifndef PROXY_SERVER_FIREWALL_H
#define PROXY_SERVER_FIREWALL_H

/* Says what it did on stdout, failures on stderr. 0 or -1; *changed
 * is set when a rule was added. */
int firewall_open(int port, int *changed);

/* Tells how to open PORT by hand. */
void firewall_advice(int port);

#endif
