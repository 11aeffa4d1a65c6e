/* adenroll forget TEMPLATE: stop managing a template's certificate, as
 * certmonger's `getcert stop-tracking` does.  The live certificate and key
 * are moved to the archive (never deleted), a request pending for the
 * template is dropped (the CA keeps it), and, when nothing is managed any
 * more, the trust anchor files adenroll wrote are removed.  Offline: no
 * credentials, no directory.  A template that is still set for
 * autoenrollment for this account is enrolled again by the next pulse
 * (adenroll(8) says so). */
#include "adenroll-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchors.h"
#include "commands.h"
#include "hooks.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "store.h"
#include "util.h"

struct forget_result {
	char *template_cn;      /* as the store or the pending record spells it */
	char *archived;         /* where the pair went, NULL if none was held */
	bool had_cert;
	bool had_pending;
	long pending_id;
	char *pending_ca;
	unsigned anchors_removed;
};

static void print_result(const struct cli_options *opt, const struct forget_result *r)
{
	struct json_writer w;

	if (!opt->json) {
		if (r->had_cert)
			printf("%s: %s; certificate and key %s %s\n", r->template_cn,
			       opt->dry_run ? "would no longer be managed" : "no longer managed",
			       opt->dry_run ? "would be archived" : "archived to",
			       opt->dry_run ? "" : (r->archived ? r->archived : "the archive"));
		if (r->had_pending)
			printf("%s: pending request %ld at %s %s (the CA keeps it; a CA manager may deny it)\n",
			       r->template_cn, r->pending_id, r->pending_ca ? r->pending_ca : "?",
			       opt->dry_run ? "would be dropped" : "dropped");
		if (r->anchors_removed)
			printf("removed %u trust anchor file(s): adenroll manages no certificate any more\n",
			       r->anchors_removed);
		return;
	}
	json_init(&w, stdout);
	json_begin_object(&w, NULL);
	json_string(&w, "template", r->template_cn);
	json_bool(&w, "dry_run", opt->dry_run);
	json_bool(&w, "certificate_archived", r->had_cert);
	json_string(&w, "archived", r->archived);
	if (r->had_pending) {
		json_begin_object(&w, "pending_dropped");
		json_int(&w, "request_id", r->pending_id);
		json_string(&w, "ca", r->pending_ca);
		json_end_object(&w);
	} else {
		json_null(&w, "pending_dropped");
	}
	json_uint(&w, "anchors_removed", r->anchors_removed);
	json_end_object(&w);
	json_finish(&w);
}

/* Whether anything is still managed or pending after the forget. */
static bool anything_left(struct store *s, const struct config *cfg, enum adenroll_mode mode)
{
	struct store_item *items = NULL;
	struct pending_request *pending = NULL;
	size_t n = 0, np = 0;
	bool left = true;

	if (store_list(s, &items, &n) == 0 && state_pending_list(cfg, mode, &pending, &np) == 0)
		left = n > 0 || np > 0;
	store_items_free(items, n);
	state_pending_list_free(pending, np);
	return left;
}

int cmd_forget(const struct cli_options *opt, struct config *cfg, int argc, char **argv)
{
	struct forget_result r;
	struct store *s = NULL;
	struct store_item *items = NULL;
	struct pending_request pr;
	size_t n = 0;
	int ret = ADENROLL_EXIT_FAILURE, found;

	memset(&r, 0, sizeof(r));
	memset(&pr, 0, sizeof(pr));
	if (argc != 1) {
		fprintf(stderr, "usage: adenroll forget TEMPLATE\n");
		return ADENROLL_EXIT_USAGE;
	}
	if (store_open(cfg, opt->mode, &s) != 0 || store_list(s, &items, &n) != 0)
		goto out;
	struct store_lookup *lk = store_lookup_new(items, n, NULL);
	const struct store_item *it = store_lookup_find_cn(lk, argv[0]);
	store_lookup_free(lk);
	found = state_pending_load(cfg, opt->mode, it ? it->template_cn : argv[0], &pr, NULL);
	if (found < 0)
		goto out;
	r.had_cert = it != NULL;
	r.had_pending = found == 1;
	r.template_cn = xstrdup(it ? it->template_cn : r.had_pending ? pr.template_cn : argv[0]);
	if (!r.had_cert && !r.had_pending) {
		log_error("adenroll manages no certificate of template \"%s\" and has no request pending for "
			  "it; `adenroll status` lists what it manages", argv[0]);
		if (opt->json)
			json_print_error(stdout, "not_managed", log_last_error(), ADENROLL_EXIT_FAILURE);
		goto out;
	}
	r.pending_id = pr.request_id;
	r.pending_ca = pr.ca_name ? xstrdup(pr.ca_name) : NULL;
	if (opt->dry_run) {
		print_result(opt, &r);
		ret = ADENROLL_EXIT_OK;
		goto out;
	}
	if (r.had_cert && store_retire(s, r.template_cn, &r.archived) != 0) {
		log_error("%s: the certificate could not be archived; it is still managed", r.template_cn);
		goto out;
	}
	if (r.had_pending && state_pending_remove(cfg, opt->mode, r.template_cn) != 0) {
		log_error("%s: the pending request could not be dropped", r.template_cn);
		goto out;
	}
	log_info("%s: no longer managed%s%s", r.template_cn, r.archived ? "; archived to " : "",
		 r.archived ? r.archived : "");
	if (r.had_cert) {
		struct hook_env env = { .template_cn = r.template_cn, .archived_path = r.archived,
					.request_id = -1,
					.mode = opt->mode == ADENROLL_MODE_USER ? "user" : "machine" };

		hooks_run(cfg->hooks_dir, HOOK_EVENT_ARCHIVED, &env);
	}
	/* Anchors serve the certificates adenroll manages: with none left,
	 * the files it put into the system trust store go too. */
	if (opt->mode == ADENROLL_MODE_MACHINE && !anything_left(s, cfg, opt->mode) &&
	    anchors_remove_all(cfg, &r.anchors_removed) != 0)
		log_warn("some trust anchor files adenroll wrote could not be removed (see above)");
	print_result(opt, &r);
	ret = ADENROLL_EXIT_OK;
out:
	store_items_free(items, n);
	store_close(s);
	state_pending_free(&pr);
	free(r.template_cn);
	free(r.archived);
	free(r.pending_ca);
	return ret;
}
