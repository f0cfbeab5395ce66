# The netflix-genai policy pack (crates/greenlight-core/packs/netflix-genai.yaml) written in
# Rego v1, for the engine comparison in docs/decisions/0001-policy-expression-language.md.
#
# Input: a declaration in its own JSON shape (`greenlight_core::Declaration` serialized), the
# same object the CEL pack sees. Output: `data.greenlight.netflix_genai.result`, an object with
# the outcome, the derived principle answers, the findings (rule, outcome, principle, message,
# fields) and the blockers (rule, message, fields), in the order the CEL engine reports them:
# rule order, then element order. Each finding and blocker carries a sort key [rule, element]
# while it is built; a set would otherwise merge identical findings of different elements.
#
# Not shipped: the product runs the CEL pack. This file exists so the comparison is reproducible.

package greenlight.netflix_genai

# ---------------------------------------------------------------------------------------------
# Constants and terms (the pack's `terms`)

referencing_types := {"copyrighted-work", "artist", "public-figure", "deceased-person", "performer"}

unowned := {"third-party", "unknown"}

sensitive_kinds := {"footage", "unreleased-asset", "contract"}

replica_treatments := {"replica", "voice", "re-ageing"}

replica_exceptions := {"as-scripted", "unsafe", "unrecognizable"}

alteration_exceptions := {"customary", "dubbing", "as-scripted"}

outcome_rank := {"notify": 0, "review": 1, "escalate": 2, "written_approval": 3}

rank_outcome := ["notify", "review", "escalate", "written_approval"]

principle_ids := ["p1", "p2", "p3", "p4", "p5"]

principle_titles := {
	"p1": "outputs do not replicate or substantially recreate identifiable characteristics of unowned or copyrighted material",
	"p2": "the tools do not store, reuse or train on production inputs or outputs",
	"p3": "where possible, tools run in an enterprise-secured environment that safeguards inputs",
	"p4": "generated material is temporary and not part of the final deliverables",
	"p5": "no talent performance or union-covered work is replaced or generated without consent",
}

default all_tools_enterprise := false

all_tools_enterprise if {
	every t in input.tools {
		t.enterprise_agreement == true
	}
}

has_agreement if input.union_work.agreement

# A consent on file that counts (for a deceased performer, only one by the estate or a union).
consent_valid(t) if {
	t.consent
	not t.deceased
}

consent_valid(t) if {
	t.consent
	t.consent.by != "performer"
}

# NFX-TALENT-ALTERATION applies to the entry.
alteration_fires(t) if {
	t.treatment == "alteration"
	t.changes_performance
}

alteration_fires(t) if {
	t.treatment == "alteration"
	not t.exception in alteration_exceptions
}

# The NFX-TALENT-REPLICA consent blocker is open.
replica_blocks(t) if {
	t.treatment in replica_treatments
	not t.exception in replica_exceptions
	not consent_valid(t)
}

estate_consent(t) if t.consent.by in {"estate", "union"}

# The NFX-TALENT-DECEASED blocker is open.
deceased_blocks(t) if {
	t.deceased
	not estate_consent(t)
}

# Some consent blocker of the entry is open ("needs consent and has none").
consent_missing(t) if replica_blocks(t)

consent_missing(t) if {
	alteration_fires(t)
	not consent_valid(t)
}

consent_missing(t) if deceased_blocks(t)

consent_missing(t) if {
	t.model_reused_elsewhere
	not consent_valid(t)
}

studio_input_owner_fields := [sprintf("inputs[%d].owner", [i]) | some i, x in input.inputs; x.owner == "studio"]

outside_tool_fields := [sprintf("tools[%d].enterprise_agreement", [i]) | some i, t in input.tools; not t.enterprise_agreement]

# ---------------------------------------------------------------------------------------------
# Principle conditions: each match is [condition number, element index, reason, fields].

not_met contains ["p1", [0, i, "an input names or depicts a copyrighted work, artist, public figure, deceased person or performer and its rights are not cleared", [sprintf("inputs[%d].mentions", [i]), sprintf("inputs[%d].cleared", [i])]]] if {
	some i, x in input.inputs
	not x.cleared
	some m in x.mentions
	m.type in referencing_types
}

not_met contains ["p1", [1, i, "a training set owned by a third party (or of unknown ownership) is not cleared", [sprintf("inputs[%d].kind", [i]), sprintf("inputs[%d].owner", [i]), sprintf("inputs[%d].cleared", [i])]]] if {
	some i, x in input.inputs
	x.kind == "training-set"
	x.owner in unowned
	not x.cleared
}

unsure contains ["p1", [0, i, "a reference image owned by a third party (or of unknown ownership) is not cleared", [sprintf("inputs[%d].kind", [i]), sprintf("inputs[%d].owner", [i]), sprintf("inputs[%d].cleared", [i])]]] if {
	some i, x in input.inputs
	x.kind == "reference-image"
	x.owner in unowned
	not x.cleared
}

not_met contains ["p2", [0, i, "a tool outside the enterprise agreement stores or trains on what it is given", [sprintf("tools[%d].enterprise_agreement", [i]), sprintf("tools[%d].data_use", [i])]]] if {
	some i, t in input.tools
	not t.enterprise_agreement
	t.data_use in {"stores", "trains"}
}

unsure contains ["p2", [0, i, "a tool outside the enterprise agreement has unknown data use", [sprintf("tools[%d].enterprise_agreement", [i]), sprintf("tools[%d].data_use", [i])]]] if {
	some i, t in input.tools
	not t.enterprise_agreement
	t.data_use == "unknown"
}

unsure contains ["p2", [1, i, "the terms of a tool outside the enterprise agreement have not been reviewed", [sprintf("tools[%d].enterprise_agreement", [i]), sprintf("tools[%d].terms_reviewed", [i])]]] if {
	some i, t in input.tools
	not t.enterprise_agreement
	not t.terms_reviewed
}

not_met contains ["p3", [0, 0, "the studio's own material goes into a tool outside the enterprise agreement", array.concat(studio_input_owner_fields, outside_tool_fields)]] if {
	count(studio_input_owner_fields) > 0
	count(outside_tool_fields) > 0
}

not_met contains ["p4", [0, 0, "the output is part of the final deliverables", ["outputs.final"]]] if {
	input.outputs.final
}

not_met contains ["p5", [0, i, "a performer's consent is needed and none that counts is on file", [sprintf("talent[%d].consent", [i])]]] if {
	some i, t in input.talent
	consent_missing(t)
}

not_met contains ["p5", [1, 0, "union-covered work is affected and no agreement covers it", ["union_work.affected", "union_work.agreement"]]] if {
	input.union_work.affected
	not has_agreement
}

# The engine's answer to each principle, with the first matching reason and every matching
# condition's fields (in condition order, then element order, without repeats).
principle_view(p) := answer_view(p, nm, us) if {
	nm := sort([e[1] | some e in not_met; e[0] == p])
	us := sort([e[1] | some e in unsure; e[0] == p])
}

answer_view(p, nm, us) := make_view("not-met", p, nm) if {
	count(nm) > 0
} else := make_view("unsure", p, us) if {
	count(us) > 0
} else := {"id": p, "title": principle_titles[p], "answer": "met", "reason": "", "fields": []}

make_view(answer, p, matches) := {
	"id": p,
	"title": principle_titles[p],
	"answer": answer,
	"reason": matches[0][2],
	"fields": dedupe([f | some m in matches; some f in m[3]]),
}

dedupe(xs) := [x | some k, x in xs; not x in array.slice(xs, 0, k)]

principles := [principle_view(p) | some p in principle_ids]

# ---------------------------------------------------------------------------------------------
# Rules. Each finding is [rule number, element, finding]; each blocker [rule number, element, blocker].

finding(rule, outcome, principle, message, fields) := {
	"rule": rule,
	"outcome": outcome,
	"principle": principle,
	"message": message,
	"fields": fields,
}

blocker(rule, message, fields) := {"rule": rule, "message": message, "fields": fields}

findings contains [0, 0, finding("NFX-NOTIFY", "notify", null, "Every intended use of generative AI is shared with the studio contact.", [])] if true

findings contains [1, k, finding("NFX-PRINCIPLE", "escalate", v.id, msg, v.fields)] if {
	some k, v in principles
	v.answer != "met"
	state := {"not-met": "not met", "unsure": "unsure"}[v.answer]
	msg := sprintf("Principle %s (%s) is %s: %s. Any \"no\" or \"unsure\" goes to the studio contact.", [v.id, v.title, state, v.reason])
}

findings contains [2, k, finding("NFX-SELF", "escalate", p, msg, [concat("", ["self_assessment.", p])])] if {
	some k, p in principle_ids
	a := input.self_assessment[p]
	a != "met"
	msg := sprintf("You answered principle %s as %s: your own doubt is a reason to ask the studio contact.", [p, a])
}

findings contains [3, 0, finding("NFX-DATA-PERSONAL", "written_approval", "p3", "Personal data goes into a generative AI tool; this needs the studio's written approval.", fields)] if {
	fields := [sprintf("inputs[%d].kind", [i]) | some i, x in input.inputs; x.kind == "personal-data"]
	count(fields) > 0
}

findings contains [4, 0, finding("NFX-DATA-LIKENESS", "written_approval", "p5", "A performer's likeness or voice goes into a generative AI tool; this needs the studio's written approval.", fields)] if {
	fields := [sprintf("inputs[%d].kind", [i]) | some i, x in input.inputs; x.kind in {"likeness", "voice"}]
	count(fields) > 0
}

findings contains [5, 0, finding("NFX-DATA-STUDIO-SECURE", "review", "p3", "The studio's proprietary material goes into tools under the enterprise agreement; the studio reviews the use.", fields)] if {
	all_tools_enterprise
	fields := [sprintf("inputs[%d].owner", [i]) | some i, x in input.inputs; x.owner == "studio"; not x.kind in sensitive_kinds]
	count(fields) > 0
}

findings contains [6, 0, finding("NFX-DATA-STUDIO-SENSITIVE", "escalate", "p3", "Sensitive studio material (footage, unreleased assets or contracts) goes into a generative AI tool; even inside enterprise tools this goes to the studio contact.", fields)] if {
	all_tools_enterprise
	fields := [sprintf("inputs[%d].kind", [i]) | some i, x in input.inputs; x.owner == "studio"; x.kind in sensitive_kinds]
	count(fields) > 0
}

findings contains [7, 0, finding("NFX-DATA-STUDIO-INSECURE", "written_approval", "p3", "The studio's proprietary material goes into a tool that is not covered by the enterprise agreement; this needs the studio's written approval.", array.concat(studio_input_owner_fields, outside_tool_fields))] if {
	not all_tools_enterprise
	count(studio_input_owner_fields) > 0
}

training_fields := [sprintf("inputs[%d].cleared", [i]) |
	some i, x in input.inputs
	x.kind == "training-set"
	x.owner in unowned
	not x.cleared
]

findings contains [8, 0, finding("NFX-DATA-TRAINING", "written_approval", "p1", "A model is trained or fine-tuned on data the production does not own and has not cleared; this needs the studio's written approval.", training_fields)] if {
	count(training_fields) > 0
}

blockers contains [8, 0, blocker("NFX-DATA-TRAINING", "Clearance for the training set is not on file.", training_fields)] if {
	count(training_fields) > 0
}

references(x) if {
	some m in x.mentions
	m.type in referencing_types
}

findings contains [9, i, finding("NFX-CREATIVE-REFERENCE", "written_approval", "p1", msg, [sprintf("inputs[%d].mentions", [i]), sprintf("inputs[%d].cleared", [i])])] if {
	some i, x in input.inputs
	not x.cleared
	references(x)
	first := x.mentions[0]
	more := more_mentions(count(x.mentions))
	msg := sprintf("An input (%s) references %s \"%s\"%s without cleared rights; using it needs the studio's written approval.", [x.kind, first.type, first.name, more])
}

more_mentions(n) := sprintf(" and %d more", [n - 1]) if {
	n > 1
} else := ""

findings contains [10, 0, finding("NFX-CREATIVE-KEY", "written_approval", null, "The output is a main character, key visual or story-central element; this needs the studio's written approval.", ["outputs.key_creative"])] if {
	input.outputs.key_creative
}

featured_field := "outputs.key_creative" if {
	input.outputs.key_creative
} else := "outputs.prominence"

findings contains [11, 0, finding("NFX-FINAL-FEATURED", "written_approval", "p4", "Generated material is featured in the final deliverables; this needs the studio's written approval.", ["outputs.final", featured_field])] if {
	input.outputs.final
	featured_or_key
}

featured_or_key if input.outputs.prominence == "featured"

featured_or_key if input.outputs.key_creative

findings contains [12, 0, finding("NFX-FINAL-INCIDENTAL", "review", "p4", "Generated material appears incidentally in the final deliverables; rights clearance may be required. (Principle p4 is not met, so it escalates to the studio contact anyway.)", ["outputs.final", "outputs.prominence"])] if {
	input.outputs.final
	input.outputs.prominence == "incidental"
	not input.outputs.key_creative
}

findings contains [13, 0, finding("NFX-ETHICS-REAL", "written_approval", null, "The output could be mistaken for real events, people or statements; this needs the studio's written approval.", ["outputs.presented_as_real"])] if {
	input.outputs.presented_as_real
}

findings contains [14, 0, finding("NFX-ETHICS-PEOPLE", "written_approval", null, "The output shows or voices identifiable real people; this needs the studio's written approval.", ["outputs.depicts_real_people"])] if {
	input.outputs.depicts_real_people
}

documentary_fields := array.concat(
	array.concat(
		["production.kind"],
		[f | input.outputs.depicts_real_people; f := "outputs.depicts_real_people"],
	),
	array.concat(
		[f | input.outputs.presented_as_real; f := "outputs.presented_as_real"],
		[f | count(input.talent) > 0; f := "talent"],
	),
)

findings contains [15, 0, finding("NFX-ETHICS-DOCUMENTARY", "written_approval", null, "A documentary shows generated or altered real people or events; this needs the studio's written approval.", documentary_fields)] if {
	input.production.kind == "documentary"
	count(documentary_fields) > 1
}

replica_text := {
	"replica": "A digital replica of %s is generated",
	"voice": "A synthetic voice of %s is generated",
	"re-ageing": "%s is re-aged (de-aged or aged)",
}

consent_not_needed(t) := sprintf(" (consent is not needed here: %s)", [t.exception]) if {
	t.exception in replica_exceptions
} else := ""

findings contains [16, i, finding("NFX-TALENT-REPLICA", "written_approval", "p5", msg, [sprintf("talent[%d].treatment", [i])])] if {
	some i, t in input.talent
	t.treatment in replica_treatments
	what := sprintf(replica_text[t.treatment], [t.performer])
	msg := concat("", [what, "; this needs the studio's written approval and the performer's consent", consent_not_needed(t), "."])
}

deceased_note(t) := " (for a deceased performer only the estate or a union can consent)" if {
	t.deceased
	t.consent
} else := ""

blockers contains [16, i, blocker("NFX-TALENT-REPLICA", msg, [sprintf("talent[%d].consent", [i])])] if {
	some i, t in input.talent
	t.treatment in replica_treatments
	replica_blocks(t)
	msg := concat("", ["Consent for ", t.performer, " is not on file", deceased_note(t), "."])
}

alteration_fields := [sprintf("talent[%d].treatment", [i]) | some i, t in input.talent; alteration_fires(t)]

findings contains [17, 0, finding("NFX-TALENT-ALTERATION", "written_approval", "p5", "A performance is altered beyond customary, dubbing or as-scripted changes (or its emotional tone, delivery or intent changes); this needs the studio's written approval and the performer's consent.", alteration_fields)] if {
	count(alteration_fields) > 0
}

blockers contains [17, i, blocker("NFX-TALENT-ALTERATION", sprintf("Consent for %s to alter the performance is not on file.", [t.performer]), [sprintf("talent[%d].consent", [i])])] if {
	some i, t in input.talent
	alteration_fires(t)
	not consent_valid(t)
}

synthetic_fields := [sprintf("talent[%d].treatment", [i]) | some i, t in input.talent; t.treatment == "synthetic-performer"]

findings contains [18, 0, finding("NFX-TALENT-SYNTHETIC", "written_approval", "p5", "A synthetic performer is generated; this needs the studio's written approval and a union agreement.", synthetic_fields)] if {
	count(synthetic_fields) > 0
}

blockers contains [18, 0, blocker("NFX-TALENT-SYNTHETIC", "The union agreement covering the synthetic performer is not on file.", ["union_work.agreement"])] if {
	count(synthetic_fields) > 0
	not has_agreement
}

deceased_fields := [sprintf("talent[%d].deceased", [i]) | some i, t in input.talent; t.deceased]

findings contains [19, 0, finding("NFX-TALENT-DECEASED", "written_approval", "p5", "A deceased performer's likeness, voice or performance is used; this needs the studio's written approval and the estate's or a union's consent.", deceased_fields)] if {
	count(deceased_fields) > 0
}

blockers contains [19, i, blocker("NFX-TALENT-DECEASED", sprintf("Consent from the estate of %s (or a union) is not on file; a consent given by the performer does not count here.", [t.performer]), [sprintf("talent[%d].consent", [i])])] if {
	some i, t in input.talent
	deceased_blocks(t)
}

reuse_fields := [sprintf("talent[%d].model_reused_elsewhere", [i]) | some i, t in input.talent; t.model_reused_elsewhere]

findings contains [20, 0, finding("NFX-TALENT-MODEL-REUSE", "written_approval", "p5", "A model trained on a performer is used for another production or pitch; this needs the consent of all parties and the studio's written approval.", reuse_fields)] if {
	count(reuse_fields) > 0
}

blockers contains [20, i, blocker("NFX-TALENT-MODEL-REUSE", sprintf("Consent of all parties to reuse the model of %s is not on file.", [t.performer]), [sprintf("talent[%d].consent", [i])])] if {
	some i, t in input.talent
	t.model_reused_elsewhere
	not consent_valid(t)
}

findings contains [21, 0, finding("NFX-UNION", "written_approval", "p5", "The use replaces or materially affects union-covered work; this needs the studio's written approval and the agreement covering it.", ["union_work.affected"])] if {
	input.union_work.affected
}

blockers contains [21, 0, blocker("NFX-UNION", "The agreement covering the union work is not on file.", ["union_work.agreement"])] if {
	input.union_work.affected
	not has_agreement
}

# ---------------------------------------------------------------------------------------------
# The result.

result := {
	"outcome": rank_outcome[max([outcome_rank[f[2].outcome] | some f in findings])],
	"principles": {v.id: v.answer | some v in principles},
	"findings": [f[2] | some f in sort(findings)],
	"blockers": [b[2] | some b in sort(blockers)],
}
