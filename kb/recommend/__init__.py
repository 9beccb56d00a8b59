"""Ranks the clusters for a description of a user's activity ("we make vaccines", "nous
extrudons des tubes en PVC"), with the reasons of each match.

Plain Python (no Rasa import). Everything is derived from the knowledge base: no cluster id,
name or fact is written here. Read it one module at a time, in this order:

1. `analysis`: a text's words and the term each stands for (lemma, accents, suffixes, stop words).
2. `index`: the clusters' documents as weighted terms, built once from knowledge/.
3. `query`: the user's message in the index's terms (misspellings, compounds, "for …" clauses).
4. `ranking`: the scores, the ranking, its reasons and its evidence (`ClusterRanker`).
"""

from kb.recommend.ranking import GOALS, ORGANISATION_TYPES, ClusterRanker, Evidence, Reason, Recommendation, is_vague

__all__ = ["GOALS", "ORGANISATION_TYPES", "ClusterRanker", "Evidence", "Reason", "Recommendation", "is_vague"]
