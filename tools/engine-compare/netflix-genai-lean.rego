# The rules of netflix-genai.rego producing only the outcome, the principle answers and the
# rule ids of the findings and blockers: no messages, no field paths, no principle reasons.
# This is not what a check must return; it is a lower bound for Rego, timed against the CEL
# pack stripped the same way (`lean_pack` in src/main.rs). Same input as netflix-genai.rego.

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

studio_input if {
	some x in input.inputs
	x.owner == "studio"
}

outside_tool if {
	some t in input.tools
	not t.enterprise_agreement
}

references(x) if {
	some m in x.mentions
	m.type in referencing_types
}

# ---------------------------------------------------------------------------------------------
# Principles

not_met contains "p1" if {
	some x in input.inputs
	not x.cleared
	references(x)
}

not_met contains "p1" if {
	some x in input.inputs
	x.kind == "training-set"
	x.owner in unowned
	not x.cleared
}

unsure contains "p1" if {
	some x in input.inputs
	x.kind == "reference-image"
	x.owner in unowned
	not x.cleared
}

not_met contains "p2" if {
	some t in input.tools
	not t.enterprise_agreement
	t.data_use in {"stores", "trains"}
}

unsure contains "p2" if {
	some t in input.tools
	not t.enterprise_agreement
	t.data_use == "unknown"
}

unsure contains "p2" if {
	some t in input.tools
	not t.enterprise_agreement
	not t.terms_reviewed
}

not_met contains "p3" if {
	studio_input
	outside_tool
}

not_met contains "p4" if input.outputs.final

not_met contains "p5" if {
	some t in input.talent
	consent_missing(t)
}

not_met contains "p5" if {
	input.union_work.affected
	not has_agreement
}

answer(p) := "not-met" if {
	p in not_met
} else := "unsure" if {
	p in unsure
} else := "met"

principles := [{"id": p, "answer": answer(p)} | some p in principle_ids]

# ---------------------------------------------------------------------------------------------
# Rules: [rule number, element, rule id, outcome] and [rule number, element, rule id].

findings contains [0, 0, "NFX-NOTIFY", "notify"] if true

findings contains [1, k, "NFX-PRINCIPLE", "escalate"] if {
	some k, v in principles
	v.answer != "met"
}

findings contains [2, k, "NFX-SELF", "escalate"] if {
	some k, p in principle_ids
	input.self_assessment[p] != "met"
}

findings contains [3, 0, "NFX-DATA-PERSONAL", "written_approval"] if {
	some x in input.inputs
	x.kind == "personal-data"
}

findings contains [4, 0, "NFX-DATA-LIKENESS", "written_approval"] if {
	some x in input.inputs
	x.kind in {"likeness", "voice"}
}

findings contains [5, 0, "NFX-DATA-STUDIO-SECURE", "review"] if {
	all_tools_enterprise
	some x in input.inputs
	x.owner == "studio"
	not x.kind in sensitive_kinds
}

findings contains [6, 0, "NFX-DATA-STUDIO-SENSITIVE", "escalate"] if {
	all_tools_enterprise
	some x in input.inputs
	x.owner == "studio"
	x.kind in sensitive_kinds
}

findings contains [7, 0, "NFX-DATA-STUDIO-INSECURE", "written_approval"] if {
	not all_tools_enterprise
	studio_input
}

unowned_training if {
	some x in input.inputs
	x.kind == "training-set"
	x.owner in unowned
	not x.cleared
}

findings contains [8, 0, "NFX-DATA-TRAINING", "written_approval"] if unowned_training

blockers contains [8, 0, "NFX-DATA-TRAINING"] if unowned_training

findings contains [9, i, "NFX-CREATIVE-REFERENCE", "written_approval"] if {
	some i, x in input.inputs
	not x.cleared
	references(x)
}

findings contains [10, 0, "NFX-CREATIVE-KEY", "written_approval"] if input.outputs.key_creative

featured_or_key if input.outputs.prominence == "featured"

featured_or_key if input.outputs.key_creative

findings contains [11, 0, "NFX-FINAL-FEATURED", "written_approval"] if {
	input.outputs.final
	featured_or_key
}

findings contains [12, 0, "NFX-FINAL-INCIDENTAL", "review"] if {
	input.outputs.final
	input.outputs.prominence == "incidental"
	not input.outputs.key_creative
}

findings contains [13, 0, "NFX-ETHICS-REAL", "written_approval"] if input.outputs.presented_as_real

findings contains [14, 0, "NFX-ETHICS-PEOPLE", "written_approval"] if input.outputs.depicts_real_people

real_or_talent if input.outputs.depicts_real_people

real_or_talent if input.outputs.presented_as_real

real_or_talent if count(input.talent) > 0

findings contains [15, 0, "NFX-ETHICS-DOCUMENTARY", "written_approval"] if {
	input.production.kind == "documentary"
	real_or_talent
}

findings contains [16, i, "NFX-TALENT-REPLICA", "written_approval"] if {
	some i, t in input.talent
	t.treatment in replica_treatments
}

blockers contains [16, i, "NFX-TALENT-REPLICA"] if {
	some i, t in input.talent
	replica_blocks(t)
}

findings contains [17, 0, "NFX-TALENT-ALTERATION", "written_approval"] if {
	some t in input.talent
	alteration_fires(t)
}

blockers contains [17, i, "NFX-TALENT-ALTERATION"] if {
	some i, t in input.talent
	alteration_fires(t)
	not consent_valid(t)
}

synthetic if {
	some t in input.talent
	t.treatment == "synthetic-performer"
}

findings contains [18, 0, "NFX-TALENT-SYNTHETIC", "written_approval"] if synthetic

blockers contains [18, 0, "NFX-TALENT-SYNTHETIC"] if {
	synthetic
	not has_agreement
}

findings contains [19, 0, "NFX-TALENT-DECEASED", "written_approval"] if {
	some t in input.talent
	t.deceased
}

blockers contains [19, i, "NFX-TALENT-DECEASED"] if {
	some i, t in input.talent
	deceased_blocks(t)
}

findings contains [20, 0, "NFX-TALENT-MODEL-REUSE", "written_approval"] if {
	some t in input.talent
	t.model_reused_elsewhere
}

blockers contains [20, i, "NFX-TALENT-MODEL-REUSE"] if {
	some i, t in input.talent
	t.model_reused_elsewhere
	not consent_valid(t)
}

findings contains [21, 0, "NFX-UNION", "written_approval"] if input.union_work.affected

blockers contains [21, 0, "NFX-UNION"] if {
	input.union_work.affected
	not has_agreement
}

# ---------------------------------------------------------------------------------------------
# The result.

result := {
	"outcome": rank_outcome[max([outcome_rank[f[3]] | some f in findings])],
	"principles": {v.id: v.answer | some v in principles},
	"findings": [{"rule": f[2]} | some f in sort(findings)],
	"blockers": [{"rule": b[2]} | some b in sort(blockers)],
}
