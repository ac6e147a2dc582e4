"""SimSoM (Truong, Lou, Flammini & Menczer, PNAS Nexus 2024): a sibling model of the influence
model, with its own agents, feeds and step rule, for comparison with the published results
(docs/simsom.md). ``config`` is its configuration section, ``model`` the dynamics, ``run`` what
``sim.run`` does with a SimSoM scenario. (Nothing is imported here, so that the configuration
schema can import ``sim.simsom.config`` without loading the model.)"""
