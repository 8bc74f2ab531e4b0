#include "launch/tls_options.h"

#include "common/guid.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The checks, shared by both roles. Facts they rely on (OTP 25, ../shared/spec
 * erlang-distribution.md "TLS distribution"):
 * - the verify_fun runs in the TLS connection process, which owns the connection's TCP port,
 *   so the peer's address is that port's peername. inet_tls_dist's own verify_client/3 checks
 *   the IP SAN too, but replaces any other verify_fun, and the app check is needed as well.
 *   Anything but exactly one TCP port is refused, never guessed.
 * - OU values arrive as {utf8String, Binary} or {printableString, String}.
 * - a dialling node checks the node name's host part as a DNS name; with an IP-literal name
 *   the match_fun compares it with the IP SAN instead (other names: ssl's default check).
 * - the CA file holds the issuer of our own certificate, on Diego an intermediate; OTP 25
 *   only accepts a self-signed root as the end of a path unless a partial_chain fun names a
 *   certificate of the peer's chain as the anchor: the one that is also in the CA file (read
 *   on every handshake, so a replaced CA file counts at once).
 * - a TLS 1.3 server names its CA file's subjects (certificate_authorities), and an OTP
 *   client sends its certificate only if an issuer above its leaf's is among them: with an
 *   intermediate in the CA file it would send none. So the server names none; the
 *   verification is the same.
 * - the socket of a peer that passed every check reads 64 KB at a time (inet's default: 1,460
 *   bytes), so the connection process takes a TLS record in one piece, not a dozen: a third
 *   of the CPU per MB (bench/RESULTS.md section 9). Only then: before, a peer could have up
 *   to 100 reads queued in that process. Where the app sizes its distribution sockets
 *   itself (buffer, recbuf or sndbuf in the kernel's options, or options that are not a
 *   list), they stay as it set them. */
static const char CHECKS[] =
    "    OuText = fun({utf8String, B}) -> B;\n"
    "                ({printableString, S}) -> list_to_binary(S);\n"
    "                (_) -> <<>>\n"
    "             end,\n"
    "    OUs = fun({'OTPCertificate', Tbs, _, _}) ->\n"
    "              {rdnSequence, Rdns} = element(7, Tbs),\n"
    "              [OuText(V) || Rdn <- Rdns, {'AttributeTypeAndValue', {2,5,4,11}, V} <- Rdn]\n"
    "          end,\n"
    "    PeerIp = fun() ->\n"
    "                 {links, Links} = erlang:process_info(self(), links),\n"
    "                 Tcp = [P || P <- Links, is_port(P),\n"
    "                             erlang:port_info(P, name) =:= {name, \"tcp_inet\"}],\n"
    "                 case Tcp of\n"
    "                     [Port] -> case inet:peername(Port) of\n"
    "                                   {ok, {Ip, _}} -> {ok, Ip, Port};\n"
    "                                   _ -> error\n"
    "                               end;\n"
    "                     _ -> error\n"
    "                 end\n"
    "             end,\n"
    "    AppSizes = fun(Key) ->\n"
    "                   case application:get_env(kernel, Key) of\n"
    "                       undefined -> false;\n"
    "                       {ok, L} -> not (is_list(L) andalso is_integer(catch length(L)))\n"
    "                                  orelse [K || {K, _} <- L, lists:member(K, [buffer, recbuf, sndbuf])] =/= []\n"
    "                   end\n"
    "               end,\n"
    "    Widen = case AppSizes(inet_dist_listen_options) orelse AppSizes(inet_dist_connect_options) of\n"
    "                true -> fun(_) -> ok end;\n"
    "                false -> fun(Port) -> catch inet:setopts(Port, [{buffer, 65536}]) end\n"
    "            end,\n"
    "    Verify = fun(_, {bad_cert, _} = Reason, _) -> {fail, Reason};\n"
    "                (_, {extension, _}, S) -> {unknown, S};\n"
    "                (_, valid, S) -> {valid, S};\n"
    "                (Cert, valid_peer, S) ->\n"
    "                    case [Ou || Ou <- OUs(Cert), lists:member(Ou, Allowed)] of\n"
    "                        [] -> {fail, peer_is_not_an_allowed_app};\n"
    "                        _ ->\n"
    "                            case PeerIp() of\n"
    "                                {ok, Ip, Port} ->\n"
    "                                    case public_key:pkix_verify_hostname(Cert, [{ip, Ip}]) of\n"
    "                                        true -> _ = Widen(Port), {valid, S};\n"
    "                                        false -> {fail, peer_ip_san_is_not_its_address}\n"
    "                                    end;\n"
    "                                error -> {fail, peer_address_unknown}\n"
    "                            end\n"
    "                    end\n"
    "             end,\n"
    "    Anchors = fun() ->\n"
    "                  case file:read_file(CaFile) of\n"
    "                      {ok, Pem} -> [Der || {'Certificate', Der, not_encrypted}\n"
    "                                               <- public_key:pem_decode(Pem)];\n"
    "                      _ -> []\n"
    "                  end\n"
    "              end,\n"
    "    PartialChain = fun(Chain) ->\n"
    "                       Trusted = Anchors(),\n"
    "                       case [C || C <- Chain, lists:member(C, Trusted)] of\n"
    "                           [Ca | _] -> {trusted_ca, Ca};\n"
    "                           [] -> unknown_ca\n"
    "                       end\n"
    "                   end,\n"
    "    Match = fun({dns_id, Host}, {iPAddress, Bytes}) ->\n"
    "                    case inet:parse_strict_address(Host) of\n"
    "                        {ok, Ip} -> tuple_to_list(Ip) =:= Bytes;\n"
    "                        _ -> default\n"
    "                    end;\n"
    "               (_, _) -> default\n"
    "            end,\n"
    "    Common = [{certfile, CertFile}, {keyfile, KeyFile}, {cacertfile, CaFile},\n"
    "              {verify, verify_peer}, {versions, ['tlsv1.3', 'tlsv1.2']},\n"
    "              {partial_chain, PartialChain}, {verify_fun, {Verify, []}}],\n"
    "    [{server, [{fail_if_no_peer_cert, true}, {certificate_authorities, false} | Common]},\n"
    "     {client, [{customize_hostname_check, [{match_fun, Match}]} | Common]}]\n";

static bool check_path(const char *what, const char *path, char *err, size_t errlen)
{
    if (path == NULL || path[0] != '/') {
        snprintf(err, errlen, "TLS distribution: the %s path must be absolute (got '%s')", what,
                 path ? path : "");
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            /* ssl_dist_sup reads the optfile as Latin-1: other bytes would name another file. */
            snprintf(err, errlen,
                     "TLS distribution: the %s path %s has characters other than printable "
                     "ASCII: move the file to a plain path",
                     what, path);
            return false;
        }
    }
    return true;
}

static bool check_guid(const char *what, const char *guid, char *err, size_t errlen)
{
    if (guid == NULL || !guid_valid(guid)) {
        snprintf(err, errlen,
                 "TLS distribution: %s '%s' is not a GUID (8-4-4-4-12 hex digits, as cf app "
                 "--guid prints)",
                 what, guid ? guid : "");
        return false;
    }
    return true;
}

static void put_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void put_ou(FILE *out, const char *kind, const char *guid, bool first)
{
    fprintf(out, "%s<<\"%s:", first ? "" : ", ", kind);
    for (; *guid; guid++)
        fputc(tolower((unsigned char)*guid), out);
    fputs("\">>", out);
}

char *tls_options_render(const struct tls_options *o, char *err, size_t errlen)
{
    if (!check_path("certificate", o->certfile, err, errlen) ||
        !check_path("key", o->keyfile, err, errlen) ||
        !check_path("CA file", o->cacertfile, err, errlen) ||
        !check_guid("the app GUID", o->app_guid, err, errlen))
        return NULL;
    for (size_t i = 0; i < o->allow_apps_count; i++)
        if (!check_guid("the allowed app", o->allow_apps[i], err, errlen))
            return NULL;
    if (o->space_guid != NULL && !check_guid("the space GUID", o->space_guid, err, errlen))
        return NULL;

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL) {
        snprintf(err, errlen, "TLS distribution: out of memory rendering the options");
        return NULL;
    }
    /* Diego replaces the identity files before they expire, and ssl's PEM cache would serve
     * the old ones for up to two minutes; the distribution's cache cannot be cleared
     * (ssl:clear_pem_cache/0 serves the other one), and -ssl flags do not reach it (the ssl
     * application is not loaded when distribution starts). ssl_dist_sup evaluates this file
     * before it starts that cache, so setting the environment here makes every new
     * connection read the current files. */
    fputs("%% TLS distribution options (-ssl_dist_optfile), written at launch from the\n"
          "%% instance identity. ssl_dist_sup evaluates this one expression.\n"
          "(fun() ->\n"
          "    %% Read the identity files on every connection: they are replaced in place.\n"
          "    ok = application:set_env(ssl, bypass_pem_cache, true),\n"
          "    CertFile = ",
          out);
    put_string(out, o->certfile);
    fputs(",\n    KeyFile = ", out);
    put_string(out, o->keyfile);
    fputs(",\n    CaFile = ", out);
    put_string(out, o->cacertfile);
    fputs(",\n    Allowed = [", out);
    put_ou(out, "app", o->app_guid, true);
    for (size_t i = 0; i < o->allow_apps_count; i++)
        put_ou(out, "app", o->allow_apps[i], false);
    if (o->space_guid != NULL)
        put_ou(out, "space", o->space_guid, false);
    fputs("],\n", out);
    fputs(CHECKS, out);
    fputs("end)().\n", out);
    /* Any failed write shows in the stream's error flag or in fclose. */
    bool failed = ferror(out) != 0;
    if (fclose(out) != 0 || failed) {
        free(text);
        snprintf(err, errlen, "TLS distribution: out of memory rendering the options");
        return NULL;
    }
    return text;
}
