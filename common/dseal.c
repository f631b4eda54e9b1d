/* ChaCha20-Poly1305 over the datagram path's packets: see dseal.h. The
 * EVP contexts are set up once per direction; each packet only sets its
 * nonce. */
#include "dseal.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static EVP_CIPHER_CTX *ctx_new(const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (!c)
		return NULL;
	if (EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL,
			      enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

int dseal_init(struct dseal *s, const uint8_t m[DSEAL_MATERIAL_LEN],
	       int is_server)
{
	const uint8_t *c2s = m, *s2c = m + DSEAL_KEY_LEN;

	memset(s, 0, sizeof(*s));
	s->tx = ctx_new(is_server ? s2c : c2s, 1);
	s->rx = ctx_new(is_server ? c2s : s2c, 0);
	memcpy(s->id, m + 2 * DSEAL_KEY_LEN, DPKT_ID_LEN);
	if (!s->tx || !s->rx) {
		dseal_free(s);
		return DSEAL_ERR_CRYPTO;
	}
	return 0;
}

void dseal_free(struct dseal *s)
{
	EVP_CIPHER_CTX_free(s->tx);
	EVP_CIPHER_CTX_free(s->rx);
	s->tx = s->rx = NULL;
}

int dseal_seal(struct dseal *s, uint8_t kind, const uint8_t *body, size_t n,
	       uint8_t *out, size_t cap)
{
	EVP_CIPHER_CTX *c = s->tx;
	size_t len = DPKT_HDR_LEN + 1 + n + DPKT_TAG_LEN;
	uint8_t nonce[12], *ct = out + DPKT_HDR_LEN;
	int outl, fl;

	if (len > cap || len > DPKT_MAX_LEN)
		return DPKT_ERR_SIZE;
	if (s->tx_ctr >= DSEAL_CTR_MAX)
		return DSEAL_ERR_SPENT;
	dpkt_put_hdr(out, s->id, s->tx_ctr);
	dpkt_nonce(nonce, s->tx_ctr);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1) != 1 ||
	    EVP_CipherUpdate(c, NULL, &outl, out, DPKT_HDR_LEN) != 1 ||
	    EVP_CipherUpdate(c, ct, &outl, &kind, 1) != 1 ||
	    (n && EVP_CipherUpdate(c, ct + 1, &outl, body, (int)n) != 1) ||
	    EVP_CipherFinal_ex(c, ct + 1 + n, &fl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, DPKT_TAG_LEN,
				ct + 1 + n) != 1)
		return DSEAL_ERR_CRYPTO;
	s->tx_ctr++;
	return (int)len;
}

int dseal_open(struct dseal *s, const uint8_t *pkt, size_t n, uint8_t *plain,
	       int *newest)
{
	EVP_CIPHER_CTX *c = s->rx;
	struct dpkt_hdr h;
	uint8_t nonce[12], tag[DPKT_TAG_LEN];
	size_t plen;
	int outl, fl, rc = dpkt_parse_hdr(pkt, n, &h);

	*newest = 0;
	if (rc)
		return rc;
	if (CRYPTO_memcmp(h.id, s->id, DPKT_ID_LEN))
		return DSEAL_ERR_ID;
	if (!replay_check(&s->win, h.ctr))
		return DSEAL_ERR_REPLAY;
	plen = n - DPKT_HDR_LEN - DPKT_TAG_LEN;
	memcpy(tag, pkt + n - DPKT_TAG_LEN, DPKT_TAG_LEN);
	dpkt_nonce(nonce, h.ctr);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) != 1 ||
	    EVP_CipherUpdate(c, NULL, &outl, pkt, DPKT_HDR_LEN) != 1 ||
	    EVP_CipherUpdate(c, plain, &outl, pkt + DPKT_HDR_LEN, (int)plen) !=
		    1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, DPKT_TAG_LEN, tag) !=
		    1)
		return DSEAL_ERR_CRYPTO;
	if (EVP_CipherFinal_ex(c, plain + plen, &fl) != 1) {
		/* whatever was decrypted is not to be looked at */
		OPENSSL_cleanse(plain, plen);
		return DSEAL_ERR_AUTH;
	}
	*newest = replay_mark(&s->win, h.ctr);
	return (int)plen;
}

const char *dseal_strerror(int err)
{
	switch (err) {
	case DSEAL_ERR_ID:
		return "another tunnel's packet";
	case DSEAL_ERR_REPLAY:
		return "replayed or too old";
	case DSEAL_ERR_AUTH:
		return "authentication failed";
	case DSEAL_ERR_SPENT:
		return "packet counter used up";
	case DSEAL_ERR_CRYPTO:
		return "crypto library error";
	default:
		return dpkt_strerror(err);
	}
}
