package cpu

// cpuRelax executes PAUSE (a spin-wait hint) once.
func cpuRelax()
