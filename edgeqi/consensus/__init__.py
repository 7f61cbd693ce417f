"""Layer 5, edge collaboration: PBFT among an intersection's cameras, a committee above.

- :mod:`.crypto`: Ed25519 keys and signatures;
- :mod:`.messages`: what is signed, and how certificates are carried;
- :mod:`.pbft`: the replica state machine (normal case, checkpoints, view change);
- :mod:`.agreement`: what the cameras agree on each signal cycle (robust fusion,
  Webster signal plan, camera-to-approach coverage) and the district committee's
  green-wave offsets;
- :mod:`.cycle`: one camera's signal cycle around its replica (reports, collection,
  request, outcome, suspects), the state machine the simulator and a field node drive.
"""

from edgeqi.consensus.crypto import KeyPair, Signer, Verifier, derive_seed
from edgeqi.consensus.messages import Phase
from edgeqi.consensus.pbft import ClusterConfig, Decision, Output, Replica

__all__ = [
    "ClusterConfig",
    "Decision",
    "KeyPair",
    "Output",
    "Phase",
    "Replica",
    "Signer",
    "Verifier",
    "derive_seed",
]
