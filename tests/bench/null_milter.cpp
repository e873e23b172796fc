/* A milter that decides nothing, for the end-to-end benchmark's baseline:
 * it negotiates the same stages and flags as connector-milter (connect,
 * HELO, MAIL, RCPT, headers and body without replies, end of message, one
 * header added there) and does no work in any of them.  What Postfix loses
 * with it in smtpd_milters is the cost of the milter protocol itself;
 * whatever connector-milter loses beyond that is its own work.
 *
 *   null_milter SOCKET      e.g. inet:8899@127.0.0.1 (runs in the foreground)
 */
#include <libmilter/mfapi.h>
#include <atomic>
#include <cstdio>
#include <cstring>

/* The protocol flags the last negotiation agreed.  libmilter offers
 * SMFIP_NR_HDR and SMFIP_NR_BODY to every filter (it answers "continue"
 * itself to an MTA that lacks them), so they are agreed on every connection;
 * a filter that then answers anyway costs libmilter a LOG_ERR syslog line
 * per header and body chunk, which is not the protocol's cost. */
static std::atomic<unsigned long> negotiated_protocol{0};

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3) {
    (void)ctx;
    (void)f2;
    (void)f3;
    *pf0 = f0 & SMFIF_ADDHDRS;
    *pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_NR_HDR | SMFIP_NR_BODY | SMFIP_NOUNKNOWN | SMFIP_NODATA);
    *pf2 = 0;
    *pf3 = 0;
    negotiated_protocol = *pf1;
    return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr) {
    (void)ctx; (void)host; (void)addr;
    return SMFIS_CONTINUE;
}
static sfsistat on_helo(SMFICTX *ctx, char *name) {
    (void)ctx; (void)name;
    return SMFIS_CONTINUE;
}
static sfsistat on_args(SMFICTX *ctx, char **argv) {
    (void)ctx; (void)argv;
    return SMFIS_CONTINUE;
}
static sfsistat on_header(SMFICTX *ctx, char *name, char *value) {
    (void)ctx; (void)name; (void)value;
    return (negotiated_protocol & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
static sfsistat on_eoh(SMFICTX *ctx) {
    (void)ctx;
    return SMFIS_CONTINUE;
}
static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len) {
    (void)ctx; (void)chunk; (void)len;
    return (negotiated_protocol & SMFIP_NR_BODY) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}
static sfsistat on_eom(SMFICTX *ctx) {
    smfi_addheader(ctx, const_cast<char*>("X-Null-Milter"), const_cast<char*>(" seen"));
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv) {
    struct smfiDesc desc;
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    memset(&desc, 0, sizeof desc);
    desc.xxfi_name = const_cast<char*>("null-milter");
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS;
    desc.xxfi_connect = on_connect;
    desc.xxfi_helo = on_helo;
    desc.xxfi_envfrom = on_args;
    desc.xxfi_envrcpt = on_args;
    desc.xxfi_header = on_header;
    desc.xxfi_eoh = on_eoh;
    desc.xxfi_body = on_body;
    desc.xxfi_eom = on_eom;
    desc.xxfi_negotiate = on_negotiate;
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
        smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "null_milter: cannot listen on %s\n", argv[1]);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
