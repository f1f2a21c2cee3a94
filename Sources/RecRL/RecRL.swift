// The umbrella module: `import RecRL` brings in every public layer.
@_exported import RecRLTensor
@_exported import RecRLNN
@_exported import RecRLAgents
@_exported import RecRLEmbeddings
@_exported import RecRLData
@_exported import RecRLRecommenders
@_exported import RecRLSimulation
@_exported import RecRLDRR
@_exported import RecRLEvaluation
