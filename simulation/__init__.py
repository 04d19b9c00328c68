"""Simulated robots for in-domain data and closed-loop evaluation: real simulators, scripted experts, privileged
annotations. Every suite implements `simulation.base.SimEnv`, so one recorder and one evaluator drive them all."""
